/** The environment's history: each status it went through, when, how long phases took. */
import { api } from "@convex/_generated/api";
import type { Doc } from "@convex/_generated/dataModel";
import { useQuery } from "convex/react";
import { StatusBadge } from "../../components/StatusBadge";
import { LoadingState } from "../../components/States";
import { formatClock, formatDuration } from "../../lib/format";
import { isTimedPhase, WORK_PHASES } from "../../lib/phases";

export function PhaseTimeline({ env }: { env: Doc<"containers"> }) {
  const events = useQuery(api.containers.events, { containerId: env._id });
  const total = WORK_PHASES.reduce((sum, { phase }) => sum + (env.phaseDurations[phase] ?? 0), 0);
  return (
    <section className="card" aria-label="Timeline">
      <div className="card-head">
        <h2>Timeline</h2>
        {total > 0 && <span className="muted">setup {formatDuration(total)}</span>}
      </div>
      <PhaseBar env={env} total={total} />
      {events === undefined ? (
        <LoadingState rows={2} label="Loading the timeline" />
      ) : (
        <ol className="timeline">
          {events.map((e) => {
            const took = isTimedPhase(e.status) ? env.phaseDurations[e.status] : undefined;
            return (
              <li key={e._id} className={`timeline-item tone-${e.status}`}>
                <span className="timeline-dot" aria-hidden />
                <div className="timeline-main">
                  <StatusBadge status={e.status} />
                  {e.message && <span className="timeline-message">{e.message}</span>}
                </div>
                <span className="timeline-meta muted">
                  {took !== undefined && <span className="chip">{formatDuration(took)}</span>}
                  {formatClock(e.at)}
                </span>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

/** Proportional bar of the finished phases: where the setup time went. */
function PhaseBar({ env, total }: { env: Doc<"containers">; total: number }) {
  if (total <= 0) return null;
  return (
    <div className="phase-bar" role="img" aria-label="Time per phase">
      {WORK_PHASES.map(({ phase, short }) => {
        const ms = env.phaseDurations[phase];
        if (!ms) return null;
        return (
          <div
            key={phase}
            className={`phase-seg seg-${phase}`}
            style={{ flexGrow: ms }}
            title={`${short} ${formatDuration(ms)}`}
          >
            {short} {formatDuration(ms)}
          </div>
        );
      })}
    </div>
  );
}
