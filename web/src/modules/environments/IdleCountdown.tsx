/**
 * "idle 40 min, stops in 80 min" / "stopped 10 min, removed in 50 min" beside an environment,
 * from lib/idle.ts; nothing for one the reaper leaves alone. The caller passes `now` from the
 * page's one shared clock (useNow), so a table of rows ticks on one timer.
 */
import { idleCountdown } from "../../lib/idle";
import type { Environment } from "../../lib/environments";

export function IdleCountdown({ env, now }: { env: Environment; now: number }) {
  const countdown = idleCountdown(env, now);
  if (!countdown) return null;
  const title =
    countdown.phase === "running"
      ? `Unused for ${env.idleLimitMinutes} min, it is stopped (workspace kept); using it (terminal, logs, exec) starts the count again.`
      : `Stopped and unused for ${env.stoppedLimitMinutes} min, it is removed with its workspace; starting it starts the count again.`;
  return (
    <span
      className={countdown.leftMs === 0 ? "idle-countdown due" : "idle-countdown"}
      data-testid="idle-countdown"
      title={title}
    >
      {countdown.text}
    </span>
  );
}
