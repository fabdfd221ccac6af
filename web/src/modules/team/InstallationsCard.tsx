/**
 * The GitHub App installations linked to the active team (github.installations): the account
 * each covers and when it was linked; team admins unlink one (the team's private repos under it
 * stop getting tokens). Linking happens through the App's install flow (GitHubSetupPage), started
 * from a repository's settings page.
 */
import { useMutation, useQuery } from "convex/react";
import { FormError } from "../../components/FormError";
import { usePendingAction } from "../../hooks/usePendingAction";
import { formatAgo } from "../../lib/format";
import { pendingApi, type Installation } from "../../lib/pendingApi";

export function InstallationsCard({ admin, now }: { admin: boolean; now: number }) {
  const installations = useQuery(pendingApi.github.installations, {});
  return (
    <section className="card" aria-labelledby="installations-heading">
      <h2 id="installations-heading">GitHub App</h2>
      {installations === undefined ? (
        <p className="muted" role="status">
          Loading installations…
        </p>
      ) : installations.length === 0 ? (
        <p className="muted">
          No installation is linked to this team. Public repositories clone without one; for a private one, install the
          App from that repository&apos;s settings page.
        </p>
      ) : (
        <ul className="plain-list installations">
          {installations.map((i) => (
            <InstallationRow key={i.installationId} installation={i} admin={admin} now={now} />
          ))}
        </ul>
      )}
    </section>
  );
}

function InstallationRow({ installation, admin, now }: { installation: Installation; admin: boolean; now: number }) {
  const { run, busy, error } = usePendingAction(useMutation(pendingApi.github.unlink));
  return (
    <li>
      <div>
        <div className="strong">{installation.accountLogin}</div>
        <div className="muted small">linked {formatAgo(installation.linkedAt, now)}</div>
        <FormError message={error} small />
      </div>
      {admin && (
        <button
          className="btn btn-small btn-danger"
          disabled={busy}
          aria-label={`Unlink ${installation.accountLogin}`}
          onClick={() => void run({ installationId: installation.installationId })}
        >
          {busy ? "Unlinking…" : "Unlink"}
        </button>
      )}
    </li>
  );
}
