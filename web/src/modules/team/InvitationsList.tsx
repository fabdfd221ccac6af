/**
 * The active team's pending invitations (team admins): who, which role, when the link expires,
 * and revoking one (its link stops working). Links are not shown again: only their hashes are kept.
 */
import { api } from "@convex/_generated/api";
import type { FunctionReturnType } from "convex/server";
import { useMutation } from "convex/react";
import { FormError } from "../../components/FormError";
import { usePendingAction } from "../../hooks/usePendingAction";
import { formatUntil } from "../../lib/format";

type Invitation = FunctionReturnType<typeof api.invitations.list>[number];

export function InvitationsList({ invitations, now }: { invitations: Invitation[] | undefined; now: number }) {
  return (
    <section className="card" aria-labelledby="invitations-heading">
      <h2 id="invitations-heading">Pending invitations</h2>
      {invitations === undefined ? (
        <p className="muted" role="status">
          Loading invitations…
        </p>
      ) : invitations.length === 0 ? (
        <p className="muted">No pending invitations.</p>
      ) : (
        <ul className="plain-list invitations">
          {invitations.map((i) => (
            <InvitationRow key={i.invitationId} invitation={i} now={now} />
          ))}
        </ul>
      )}
    </section>
  );
}

function InvitationRow({ invitation, now }: { invitation: Invitation; now: number }) {
  const { run, busy, error } = usePendingAction(useMutation(api.invitations.revoke));
  return (
    <li>
      <div>
        <div className="strong">{invitation.email}</div>
        <div className="muted small">
          {invitation.role === "admin" ? "Admin" : "Member"}, expires {formatUntil(invitation.expiresAt, now)}
        </div>
        <FormError message={error} small />
      </div>
      <button
        className="btn btn-small"
        disabled={busy}
        aria-label={`Revoke the invitation of ${invitation.email}`}
        onClick={() => void run({ invitationId: invitation.invitationId })}
      >
        {busy ? "Revoking…" : "Revoke"}
      </button>
    </li>
  );
}
