/**
 * One environment: status, the dev server (its health, why it stopped), the idle countdown,
 * timeline, live logs and a terminal; Stop / Start, Redeploy, Restart and Destroy in the header.
 */
import { api } from "@convex/_generated/api";
import { useQuery } from "convex/react";
import { lazy, Suspense, useState } from "react";
import { Link, useParams } from "react-router";
import { PageHeader } from "../../components/PageHeader";
import { StatusBadge } from "../../components/StatusBadge";
import { EmptyState, LoadingState } from "../../components/States";
import { useNow } from "../../hooks/useNow";
import type { Environment } from "../../lib/environments";
import { formatAgo, formatDuration } from "../../lib/format";
import { repoFullName } from "../../lib/repos";
import { DevServerDown } from "../../modules/environments/DevServerDown";
import { DevServerLink } from "../../modules/environments/DevServerLink";
import { EnvironmentActions } from "../../modules/environments/EnvironmentActions";
import { HealthBadge } from "../../modules/environments/HealthBadge";
import { IdleCountdown } from "../../modules/environments/IdleCountdown";
import { IsolationCard } from "../../modules/environments/IsolationCard";
import { LogViewer } from "../../modules/environments/LogViewer";
import { PhaseTimeline } from "../../modules/environments/PhaseTimeline";
import { RedeployRefused } from "../../modules/environments/RedeployRefused";

// xterm.js is the largest dependency and only needed once a terminal is opened.
const TerminalPanel = lazy(() =>
  import("../../modules/environments/TerminalPanel").then((m) => ({ default: m.TerminalPanel })),
);

export function EnvironmentPage() {
  const { id = "" } = useParams();
  const env = useQuery(api.containers.detail, { containerId: id });
  const repos = useQuery(api.repos.list);

  if (env === undefined || repos === undefined) return <LoadingState label="Loading the environment" rows={4} />;
  if (env === null) {
    return (
      <EmptyState title="Environment not found" action={<Link to="/environments">Back to environments</Link>}>
        It does not exist, or it is not yours.
      </EmptyState>
    );
  }
  const repo = repos.find((r) => r._id === env.repoId);
  const name = `${repo ? repoFullName(repo) : "environment"}@${env.branch ?? "?"}`;
  return <EnvironmentView env={env} name={name} />;
}

function EnvironmentView({ env, name }: { env: Environment; name: string }) {
  const now = useNow();
  const [tab, setTab] = useState<"logs" | "terminal">("logs");
  const [terminalOpened, setTerminalOpened] = useState(false);
  const onHost = env.status !== "destroyed" && env.status !== "creating" && env.status !== "destroying";
  const canShell = env.status === "ready" || env.status === "error" || env.status === "starting";

  return (
    <>
      <div className="breadcrumbs">
        <Link to="/environments">Environments</Link> / <span>{name}</span>
      </div>
      <PageHeader
        title={
          <span className="title-with-badge">
            {name} <StatusBadge status={env.status} /> <HealthBadge env={env} />
          </span>
        }
        subtitle={<span className="mono small">{env.agentId}</span>}
        actions={<EnvironmentActions env={env} name={name} />}
      />
      <DevServerDown env={env} />
      <RedeployRefused env={env} name={name} />
      {env.status === "error" && env.error && !env.downReason && (
        <div className="alert alert-danger" role="alert">
          <strong>Setup failed.</strong> <span className="pre">{env.error}</span>
        </div>
      )}
      <div className="detail-grid">
        <div className="card facts">
          <dl className="kv">
            <dt>Dev server</dt>
            <dd>
              <DevServerLink env={env} />
            </dd>
            <dt>Uptime</dt>
            <dd>{env.status === "destroyed" ? "—" : formatDuration(now - env.createdAt)}</dd>
            <dt>Last activity</dt>
            <dd>
              {formatAgo(env.lastActivityAt, now)}
              <div className="small">
                <IdleCountdown env={env} now={now} />
              </div>
            </dd>
            <dt>Requested</dt>
            <dd>{formatAgo(env.createdAt, now)}</dd>
          </dl>
        </div>
        <PhaseTimeline env={env} />
      </div>
      {onHost && <IsolationCard containerId={env._id} />}
      <section className="card console">
        <div className="tabs" role="tablist">
          <button
            role="tab"
            aria-selected={tab === "logs"}
            className={tab === "logs" ? "tab active" : "tab"}
            onClick={() => setTab("logs")}
          >
            Logs
          </button>
          <button
            role="tab"
            aria-selected={tab === "terminal"}
            className={tab === "terminal" ? "tab active" : "tab"}
            onClick={() => {
              setTab("terminal");
              setTerminalOpened(true);
            }}
            disabled={!canShell}
            title={canShell ? undefined : "The terminal opens once the container is set up"}
          >
            Terminal
          </button>
        </div>
        <div hidden={tab !== "logs"}>
          {onHost ? (
            <LogViewer key={env._id} containerId={env._id} enabled={onHost} resumeKey={env.statusChangedAt} />
          ) : (
            <div className="logs-empty muted">
              {env.status === "creating"
                ? "Logs appear once the container exists."
                : "The container is gone, and its logs with it."}
            </div>
          )}
        </div>
        {/* Mounted on first open and kept, so switching tabs does not end the shell session. */}
        {terminalOpened && canShell && (
          <div hidden={tab !== "terminal"}>
            <Suspense fallback={<div className="logs-empty muted">Loading the terminal…</div>}>
              <TerminalPanel key={env._id} containerId={env._id} />
            </Suspense>
          </div>
        )}
      </section>
    </>
  );
}
