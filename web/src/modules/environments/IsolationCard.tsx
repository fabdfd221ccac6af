/**
 * How an environment is isolated, as its host agent reports it (through a Convex action, since
 * it is live data from the host): its own network, the runtime, and what the egress proxy let
 * through and refused, with the newest refusals and their reasons.
 */
import { api } from "@convex/_generated/api";
import { useAction } from "convex/react";
import type { FunctionReturnType } from "convex/server";
import { useEffect, useState } from "react";
import { errorMessage } from "../../lib/errors";

type Isolation = FunctionReturnType<typeof api.hostAgent.isolation>;

/** How often the card asks again while it is on screen. */
export const ISOLATION_REFRESH_MS = 15_000;

export function IsolationCard({ containerId }: { containerId: string }) {
  const load = useAction(api.hostAgent.isolation);
  const [isolation, setIsolation] = useState<Isolation | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    const run = () =>
      load({ containerId }).then(
        (i) => current && (setIsolation(i), setError(null)),
        (err: unknown) => current && setError(errorMessage(err)),
      );
    void run();
    const timer = setInterval(() => void run(), ISOLATION_REFRESH_MS);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [load, containerId]);

  return (
    <section className="card isolation-card" aria-label="Isolation">
      <h2>Isolation</h2>
      <IsolationBody isolation={isolation} error={error} />
    </section>
  );
}

function IsolationBody({ isolation, error }: { isolation: Isolation | null; error: string | null }) {
  if (error) return <p className="form-error">{error}</p>;
  if (!isolation) return <div className="skeleton-row" role="status" aria-label="Asking the host" />;
  if (!isolation.available) return <p className="muted">{isolation.error}</p>;
  const { network, runtime, egress, egressAllowlist } = isolation;
  return (
    <>
      <dl className="kv">
        <dt>Network</dt>
        <dd>
          {network ? (
            <>
              <span className="mono">{network.name}</span> <span className="muted">({network.subnet}, internal)</span>
            </>
          ) : (
            <span className="badge badge-warning">Shared: not isolated</span>
          )}
        </dd>
        <dt>Runtime</dt>
        <dd>{runtime === "runsc" ? "gVisor (runsc)" : runtime}</dd>
        <dt>May reach</dt>
        <dd>
          {egressAllowlist.length > 0 ? <span className="mono">{egressAllowlist.join(", ")}</span> : "nothing outside"}
        </dd>
        <dt>Egress</dt>
        <dd>{egress ? `${egress.allowed} allowed, ${egress.denied} denied` : "no proxy"}</dd>
      </dl>
      {egress && egress.recentDenials.length > 0 && (
        <table className="table compact" aria-label="Recent refusals">
          <thead>
            <tr>
              <th>Refused host</th>
              <th>Reason</th>
              <th>At</th>
            </tr>
          </thead>
          <tbody>
            {egress.recentDenials.map((d) => (
              <tr key={`${d.at}-${d.host}`}>
                <td className="mono">{d.host}</td>
                <td>{d.reason.replace(/_/g, " ")}</td>
                <td className="muted">{new Date(d.at).toLocaleTimeString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
