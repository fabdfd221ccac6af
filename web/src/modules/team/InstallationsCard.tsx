/**
 * The GitHub App installations linked to the active team (github.installations): the account
 * each covers and when it was linked; team admins unlink one (the team's private repos under it
 * stop getting tokens). Linking happens through the App's install flow (GitHubSetupPage), started
 * from a repository's settings page.
 */
import { api } from "@convex/_generated/api";
import { useMutation, useQuery } from "convex/react";
import { useState } from "react";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { formatAgo } from "../../lib/format";
import type { FunctionReturnType } from "convex/server";

type Installation = FunctionReturnType<typeof api.github.installations>[number];

export function InstallationsCard({ admin, now }: { admin: boolean; now: number }) {
  const installations = useQuery(api.github.installations, {});
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
  const unlink = useMutation(api.github.unlink);
  const [confirming, setConfirming] = useState(false);
  const account = installation.accountLogin;
  return (
    <li>
      <div>
        <div className="strong">{account}</div>
        <div className="muted small">linked {formatAgo(installation.linkedAt, now)}</div>
      </div>
      {admin && (
        <button
          className="btn btn-small btn-danger"
          aria-label={`Unlink ${account}`}
          onClick={() => setConfirming(true)}
        >
          Unlink
        </button>
      )}
      <ConfirmDialog
        open={confirming}
        title={`Unlink the GitHub App installation on ${account}?`}
        confirmLabel="Unlink"
        tone="danger"
        onConfirm={() => unlink({ installationId: installation.installationId })}
        onClose={() => setConfirming(false)}
      >
        <p>
          New environments of this team&apos;s private repositories under {account} stop getting a token to clone with;
          running ones are not touched. Linking it again takes the App&apos;s install flow.
        </p>
      </ConfirmDialog>
    </li>
  );
}
