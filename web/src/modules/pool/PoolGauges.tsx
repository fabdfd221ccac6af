/** Ready / creating / assigned counts, with the pool's target and minimum marked. */
import type { api } from "@convex/_generated/api";
import type { FunctionReturnType } from "convex/server";

type PoolStatus = FunctionReturnType<typeof api.pool.status>;

export function PoolGauges({ status }: { status: PoolStatus }) {
  const { pooled, creating, assigned, config } = status;
  const scale = Math.max(config.targetSize, pooled + creating, 1);
  const below = pooled < config.minSize;
  return (
    <div className="card">
      <div className="stats">
        <Stat
          label="Ready in pool"
          value={pooled}
          hint={`target ${config.targetSize}, minimum ${config.minSize}`}
          tone={below ? "danger" : "success"}
        />
        <Stat label="Creating" value={creating} hint={`at most ${config.maxCreating} at once`} tone="info" />
        <Stat label="Assigned" value={assigned} hint="environments in use" tone="neutral" />
      </div>
      <div
        className="pool-bar"
        role="img"
        aria-label={`${pooled} ready and ${creating} creating of a target of ${config.targetSize}`}
      >
        <div className="pool-fill ready" style={{ width: `${(pooled / scale) * 100}%` }} />
        <div className="pool-fill creating" style={{ width: `${(creating / scale) * 100}%` }} />
        <div
          className="pool-mark"
          style={{ left: `${(config.minSize / scale) * 100}%` }}
          title={`minimum ${config.minSize}`}
        >
          <span>min</span>
        </div>
        <div
          className="pool-mark target"
          style={{ left: `${(config.targetSize / scale) * 100}%` }}
          title={`target ${config.targetSize}`}
        >
          <span>target</span>
        </div>
      </div>
      {below && <p className="hint warn">Below the minimum: the pool is being refilled.</p>}
    </div>
  );
}

function Stat({ label, value, hint, tone }: { label: string; value: number; hint: string; tone: string }) {
  return (
    <div className={`stat stat-${tone}`}>
      <div className="stat-label">{label}</div>
      <div className="stat-value" data-testid={`stat-${label}`}>
        {value}
      </div>
      <div className="stat-hint muted">{hint}</div>
    </div>
  );
}
