/** The setup phases a timeline shows, in order: the agent contract's list without `error`. */
import { SETUP_PHASES } from "@artie/host-agent/contract";

export type TimedPhase = Exclude<(typeof SETUP_PHASES)[number], "error">;

export const TIMED_PHASES = SETUP_PHASES.filter((p): p is TimedPhase => p !== "error");

/** The phases that take time (everything before `ready`), with the short names tables use. */
export const WORK_PHASES = [
  { phase: "cloning", short: "clone" },
  { phase: "installing", short: "install" },
  { phase: "starting", short: "start" },
] as const satisfies readonly { phase: TimedPhase; short: string }[];

export const isTimedPhase = (s: string): s is TimedPhase => (TIMED_PHASES as readonly string[]).includes(s);
