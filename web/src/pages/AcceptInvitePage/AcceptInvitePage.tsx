/**
 * An invite link (`/invite/:token`), opened signed in (App.tsx shows the sign-in page first and
 * keeps the address, so a visitor comes back here). Accepting is a click, not automatic: the
 * link works once, and joining a team is the person's choice. On success the invited team becomes
 * the active one and the repositories page opens. The control plane's refusals (expired, used or
 * revoked, meant for another address) are shown as it words them, with a way to sign in as
 * someone else. The token is only sent to invitations.accept; it is never shown or stored here.
 */
import { api } from "@convex/_generated/api";
import { useAuthActions } from "@convex-dev/auth/react";
import { useMutation, useQuery } from "convex/react";
import { useCallback } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { FormError } from "../../components/FormError";
import { PageHeader } from "../../components/PageHeader";
import { usePendingAction } from "../../hooks/usePendingAction";
import { errorCode, errorMessage } from "../../lib/errors";

/** The server's sentence (expired and wrong-address ones say what to do), and for a dead link what to do. */
function describe(err: unknown): string {
  const text = errorMessage(err);
  return errorCode(err) === "not_found" ? `${text.replace(/\.$/, "")}. Ask a team admin for a new link.` : text;
}

export function AcceptInvitePage() {
  const { token = "" } = useParams();
  const me = useQuery(api.account.me);
  const accept = useMutation(api.invitations.accept);
  const switchTo = useMutation(api.teams.switchTo);
  const navigate = useNavigate();
  const { signOut } = useAuthActions();

  const join = useCallback(async () => {
    const teamId = await accept({ token });
    // accept makes it active already; asking again keeps the page right if that ever changes.
    await switchTo({ teamId });
    await navigate("/repos");
  }, [accept, switchTo, navigate, token]);
  const { run, busy, error } = usePendingAction(join, describe);

  return (
    <>
      <PageHeader title="Join a team" subtitle="Someone invited you to work in their team on Artie." />
      <section className="card invite-card" aria-label="Invitation">
        <p>
          Accepting adds you to the team with the role the invitation gives, and makes it your active team.
          {me?.email && (
            <>
              {" "}
              You are signed in as <strong>{me.email}</strong>; the invitation must be for that address.
            </>
          )}
        </p>
        <FormError message={error} />
        <div className="form-actions">
          {error && (
            <>
              <Link to="/environments" className="btn btn-ghost">
                Not now
              </Link>
              <button className="btn" onClick={() => void signOut()}>
                Sign in as someone else
              </button>
            </>
          )}
          <button className="btn btn-primary" onClick={() => void run()} disabled={busy}>
            {busy ? "Joining…" : "Accept invitation"}
          </button>
        </div>
      </section>
    </>
  );
}
