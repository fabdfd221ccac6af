/**
 * The live table of environments; every cell re-renders as soon as the query updates. A live
 * environment set up with an older version of its repo's settings says so (the next one gets
 * the new settings; a running one keeps what it started with). Each row shows its dev server's
 * health and its idle countdown, all rows on the page's one clock.
 */
import type { Doc, Id } from "@convex/_generated/dataModel";
import { Link, useNavigate } from "react-router";
import { StatusBadge } from "../../components/StatusBadge";
import { useNow } from "../../hooks/useNow";
import type { Environment } from "../../lib/environments";
import { formatAgo, formatDuration } from "../../lib/format";
import { currentSettingsVersion } from "../../lib/repos";
import { repoFullName } from "../../lib/repos";
import { downReport } from "../../lib/devServer";
import { DevServerLink } from "./DevServerLink";
import { HealthBadge } from "./HealthBadge";
import { IdleCountdown } from "./IdleCountdown";
import { PhaseDurations } from "./PhaseDurations";

type Props = { environments: Environment[]; repos: Map<Id<"repos">, Doc<"repos">> };

export function repoName(repos: Props["repos"], id: Id<"repos"> | undefined): string {
  const repo = id && repos.get(id);
  return repo ? repoFullName(repo) : "—";
}

/** The repo's current settings version when `env` runs an older one, else null. */
export function newerSettingsVersion(env: Doc<"containers">, repos: Props["repos"]): number | null {
  const repo = env.repoId && repos.get(env.repoId);
  if (!repo || env.status === "destroyed" || env.status === "destroying") return null;
  const current = currentSettingsVersion(repo);
  return (env.settingsVersion ?? 0) < current ? current : null;
}

function OlderSettings({ env, repos }: { env: Doc<"containers">; repos: Props["repos"] }) {
  const current = newerSettingsVersion(env, repos);
  if (current === null) return null;
  const title =
    `Set up with settings version ${env.settingsVersion ?? 0}; the repository's settings are at version ` +
    `${current}. This environment keeps what it started with; the next environment gets the new settings.`;
  return (
    <span className="chip older-settings" title={title}>
      older settings
    </span>
  );
}

export function EnvironmentsTable({ environments, repos }: Props) {
  const now = useNow();
  const navigate = useNavigate();
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th>Repository</th>
            <th>Branch</th>
            <th>Status</th>
            <th>Phases</th>
            <th>Dev server</th>
            <th>Uptime</th>
          </tr>
        </thead>
        <tbody>
          {environments.map((env) => (
            <tr
              key={env._id}
              data-testid={`env-row-${env._id}`}
              className="clickable"
              onClick={() => void navigate(`/environments/${env._id}`)}
            >
              <td>
                <Link to={`/environments/${env._id}`} className="strong" onClick={(e) => e.stopPropagation()}>
                  {repoName(repos, env.repoId)}
                </Link>
                <OlderSettings env={env} repos={repos} />
              </td>
              <td className="mono branch-cell" title={env.branch}>
                {env.branch ?? "—"}
              </td>
              <td>
                <StatusBadge status={env.status} />
                <HealthBadge env={env} />
                {env.status === "error" && env.error && (
                  <div className="cell-error" title={env.error}>
                    {/* A dev server's stop report ends with its last output: the row shows what happened. */}
                    {env.downReason ? downReport(env.error).summary : env.error}
                  </div>
                )}
              </td>
              <td>
                <PhaseDurations env={env} now={now} />
              </td>
              <td>
                <DevServerLink env={env} />
              </td>
              <td className="nowrap">
                {env.status === "destroyed" ? "—" : formatDuration(now - env.createdAt)}
                <div className="muted small">active {formatAgo(env.lastActivityAt, now)}</div>
                <div className="small">
                  <IdleCountdown env={env} now={now} />
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
