/** The Docker host as the agent reports it (`/health`, through a Convex action), refreshed. */
import { api } from "@convex/_generated/api";
import { useAction } from "convex/react";
import type { FunctionReturnType } from "convex/server";
import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "../../lib/errors";
import { formatBytes, formatDuration } from "../../lib/format";

type Health = FunctionReturnType<typeof api.hostAgent.health>;
type Capacity = NonNullable<Extract<Health, { reachable: true }>["capacity"]>;

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
      {health.problems.length > 0 && (
        <>
          <dt>Problems</dt>
          <dd>
            {health.problems.map((p) => (
              <p key={p} className="form-error">
                {p}
              </p>
            ))}
          </dd>
        </>
      )}
      <dt>Containers</dt>
      <dd>
        {health.capacity
          ? `${health.capacity.containers.running} running, ${health.capacity.containers.stopped} stopped`
          : health.containerCount}
      </dd>
      {health.capacity && <CapacityRows capacity={health.capacity} />}
      {health.pulls.length > 0 && (
        <>
          <dt>Images pulling</dt>
          <dd>
            {health.pulls.map((p) => (
              <span key={p.image} className="mono" title={p.error}>
                {p.image} ({p.state}){" "}
              </span>
            ))}
          </dd>
        </>
      )}
      {health.lastPrune && (
        <>
          <dt>Last prune</dt>
          <dd>
            {`${new Date(health.lastPrune.finishedAt).toLocaleString()}: ${health.lastPrune.removed} removed, ${formatBytes(health.lastPrune.bytesFreed)} freed`}
          </dd>
        </>
      )}
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

/**
 * Memory, CPU and disk the way the seed's capacity table reasons: what the running environments
 * are allowed (their limits) against what the host has, and the disk the guard watches.
 */
function CapacityRows({ capacity: c }: { capacity: Capacity }) {
  return (
    <>
      <dt>Memory</dt>
      <dd>
        {`${formatBytes(c.allocatedMemoryBytes)} allowed to environments of ${formatBytes(c.memoryTotalBytes)}`}
        <span className="muted">{` (${formatBytes(c.memoryAvailableBytes)} available)`}</span>
      </dd>
      <dt>CPU</dt>
      <dd>
        {`${c.allocatedCpus} allowed of ${c.cpus}`}
        {c.source !== "engine" && <span className="muted">{`, load ${c.load1.toFixed(2)}`}</span>}
      </dd>
      <dt>Disk</dt>
      <dd>
        {c.disk.low && <span className="badge badge-warning">Low</span>}{" "}
        {`${formatBytes(c.disk.freeBytes)} free of ${formatBytes(c.disk.totalBytes)}`}
        <span className="muted">{`; ${c.images} images, ${c.volumes} volumes`}</span>
      </dd>
    </>
  );
}
