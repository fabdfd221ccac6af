/** "clone 0.7 s · install 0.6 s · start 12 s…": finished phases and the one under way. */
import type { Doc } from "@convex/_generated/dataModel";
import { formatDuration } from "../../lib/format";
import { WORK_PHASES } from "../../lib/phases";

export function PhaseDurations({ env, now }: { env: Doc<"containers">; now: number }) {
  const parts = WORK_PHASES.flatMap(({ phase, short }) => {
    const took = env.phaseDurations[phase];
    if (took !== undefined) return [{ short, text: formatDuration(took), running: false }];
    const started = env.phaseStartedAt[phase];
    if (env.status === phase && started !== undefined) {
      return [{ short, text: formatDuration(now - started), running: true }];
    }
    return [];
  });
  if (parts.length === 0) return <span className="muted">—</span>;
  return (
    <span className="phases">
      {parts.map((p) => (
        <span key={p.short} className={p.running ? "phase running" : "phase"}>
          <span className="phase-name">{p.short}</span> {p.text}
          {p.running && "…"}
        </span>
      ))}
    </span>
  );
}
