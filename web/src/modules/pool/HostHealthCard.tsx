/** The Docker host as the agent reports it (`/health`, through a Convex action), refreshed. */
import { api } from "@convex/_generated/api";
import { useAction } from "convex/react";
import type { FunctionReturnType } from "convex/server";
import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "../../lib/errors";
import { formatDuration } from "../../lib/format";

type Health = FunctionReturnType<typeof api.hostAgent.health>;

/** How often the card asks again while it is on screen. */
export const HEALTH_REFRESH_MS = 15_000;

export function HostHealthCard() {
  const check = useAction(api.hostAgent.health);
  const [health, setHealth] = useState<Health | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  const run = useCallback(
    (isCurrent: () => boolean = () => true) =>
      check()
        .then(
          (h) => {
            if (!isCurrent()) return;
            setHealth(h);
            setError(null);
          },
          (err: unknown) => {
            if (isCurrent()) setError(errorMessage(err));
          },
        )
        .finally(() => setChecking(false)),
    [check],
  );

  useEffect(() => {
    let current = true;
    void run(() => current);
    const timer = setInterval(() => void run(() => current), HEALTH_REFRESH_MS);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [run]);

  const refresh = () => {
    setChecking(true);
    void run();
  };

  return (
    <section className="card host-card" aria-label="Host health">
      <div className="card-head">
        <h2>Docker host</h2>
        <button className="btn btn-small" onClick={refresh} disabled={checking}>
          {checking ? "Checking…" : "Refresh"}
        </button>
      </div>
      <HealthBody health={health} error={error} />
    </section>
  );
}

function HealthBody({ health, error }: { health: Health | null; error: string | null }) {
  if (error) return <p className="form-error">{error}</p>;
  if (!health) return <div className="skeleton-row" role="status" aria-label="Checking the host" />;
  if (!health.reachable) {
    return (
      <div className="health-row">
        <span className="badge badge-danger">Unreachable</span>
        <p className="muted">{health.error}</p>
      </div>
    );
  }
  const ok = health.status === "ok";
  return (
    <dl className="kv">
      <dt>Agent</dt>
      <dd>
        <span className={ok ? "badge badge-success" : "badge badge-warning"}>{ok ? "Healthy" : "Degraded"}</span>
      </dd>
      <dt>Docker</dt>
      <dd>
        {health.docker.reachable
          ? `Engine ${health.docker.version ?? "?"} (API ${health.docker.apiVersion ?? "?"})`
          : `Unreachable: ${health.docker.error ?? "no answer"}`}
      </dd>
      <dt>Containers</dt>
      <dd>{health.containerCount}</dd>
      <dt>Agent uptime</dt>
      <dd>{formatDuration(health.uptime * 1000)}</dd>
      {health.isolation && (
        <>
          <dt>Isolation</dt>
          <dd>
            {health.isolation.enabled ? (
              "A network of its own per environment"
            ) : (
              <span className="badge badge-warning">Off: one shared network</span>
            )}
            {`, ${health.isolation.runtime === "runsc" ? "gVisor (runsc)" : health.isolation.runtime}`}
          </dd>
          <dt>Egress allowlist</dt>
          <dd>
            {health.isolation.egressAllowlist.length > 0 ? (
              <span className="mono">{health.isolation.egressAllowlist.join(", ")}</span>
            ) : (
              "empty: no egress"
            )}
            {health.isolation.egressDenylist.length > 0 && (
              <span className="muted"> (denied: {health.isolation.egressDenylist.join(", ")})</span>
            )}
          </dd>
          <dt>Refused requests</dt>
          <dd>{health.isolation.egressDenied}</dd>
        </>
      )}
    </dl>
  );
}
