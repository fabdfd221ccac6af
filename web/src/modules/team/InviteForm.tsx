/**
 * Inviting someone into the active team (team admins): an email and a role, then the invite link
 * `<origin>/invite/<token>` shown once, with a copy button and when it expires. The control plane
 * keeps only the token's hash, so this is the only time anyone sees the link: it lives in this
 * component's state until "Done" (or leaving the page), never in storage or the address bar.
 */
import { api } from "@convex/_generated/api";
import { useMutation } from "convex/react";
import { useState, type FormEvent } from "react";
import { FormError } from "../../components/FormError";
import { usePendingAction } from "../../hooks/usePendingAction";
import { formatUntil } from "../../lib/format";

type InviteRole = "admin" | "member";
type Created = { email: string; link: string; expiresAt: number; createdAt: number };

export const inviteLink = (origin: string, token: string) => `${origin}/invite/${encodeURIComponent(token)}`;

export function InviteForm() {
  const create = useMutation(api.invitations.create);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<InviteRole>("member");
  const [created, setCreated] = useState<Created | null>(null);
  const { run, busy, error } = usePendingAction(async () => {
    const { token, expiresAt } = await create({ email: email.trim(), role });
    setCreated({
      email: email.trim(),
      link: inviteLink(window.location.origin, token),
      expiresAt,
      createdAt: Date.now(),
    });
    setEmail("");
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run();
  };

  return (
    <section className="card" aria-labelledby="invite-heading">
      <h2 id="invite-heading">Invite someone</h2>
      <form className="form" onSubmit={submit}>
        <div className="form-row">
          <label className="field grow">
            <span>Email</span>
            <input
              type="email"
              name="email"
              required
              placeholder="teammate@company.com"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </label>
          <label className="field">
            <span>Role</span>
            <select value={role} onChange={(e) => setRole(e.target.value === "admin" ? "admin" : "member")}>
              <option value="member">Member</option>
              <option value="admin">Admin</option>
            </select>
          </label>
          <button className="btn btn-primary" type="submit" disabled={busy || email.trim() === ""}>
            {busy ? "Inviting…" : "Invite"}
          </button>
        </div>
        <FormError message={error} />
      </form>
      {created && <CreatedLink created={created} onDone={() => setCreated(null)} />}
    </section>
  );
}

function CreatedLink({ created, onDone }: { created: Created; onDone: () => void }) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.link);
      setCopied("yes");
    } catch {
      // No clipboard (an insecure origin, a denied permission): the link stays selectable.
      setCopied("failed");
    }
  };
  return (
    <div className="invite-link" role="region" aria-label="New invitation">
      <p>
        Send this link to <strong>{created.email}</strong>. It works once and expires{" "}
        {formatUntil(created.expiresAt, created.createdAt)} ({new Date(created.expiresAt).toLocaleString()}). It is
        shown only now: copy it before you close this.
      </p>
      <div className="input-group">
        <input readOnly aria-label="Invite link" value={created.link} onFocus={(e) => e.currentTarget.select()} />
        <button className="btn" type="button" onClick={() => void copy()}>
          {copied === "yes" ? "Copied" : "Copy link"}
        </button>
      </div>
      {copied === "failed" && <p className="hint warn">Could not copy; select the link and copy it yourself.</p>}
      <div>
        <button className="btn btn-small" type="button" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
