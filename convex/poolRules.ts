/**
 * The rules a pool configuration must satisfy, as a pure function: the `updateConfig` mutation
 * enforces them and the dashboard's form shows them field by field before sending, so the two
 * can never disagree.
 */
import { IDLE_LIMIT_MINUTES, POOL_BOUNDS, STOPPED_LIMIT_MINUTES } from "./limits";

export type PoolConfigInput = {
  targetSize: number;
  minSize: number;
  maxCreating: number;
  containerPorts: number[];
  idleLimitMinutes: number;
};

/** The config with its optional second limit (a form without that field leaves it unchanged). */
export type PoolLimitsInput = PoolConfigInput & { stoppedLimitMinutes?: number };

export type PoolConfigProblem = { field: keyof PoolLimitsInput; message: string };

const intIn = (x: number, lo: number, hi: number) => Number.isInteger(x) && x >= lo && x <= hi;

export function poolConfigProblems(c: PoolLimitsInput): PoolConfigProblem[] {
  const b = POOL_BOUNDS;
  const problems: PoolConfigProblem[] = [];
  const check = (ok: boolean, field: keyof PoolLimitsInput, message: string) => {
    if (!ok) problems.push({ field, message });
  };
  check(
    intIn(c.targetSize, b.targetSize.min, b.targetSize.max),
    "targetSize",
    `targetSize must be a whole number from ${b.targetSize.min} to ${b.targetSize.max}`,
  );
  check(intIn(c.minSize, 0, Math.max(0, c.targetSize)), "minSize", "minSize must be between 0 and targetSize");
  check(
    intIn(c.maxCreating, b.maxCreating.min, b.maxCreating.max),
    "maxCreating",
    `maxCreating must be a whole number from ${b.maxCreating.min} to ${b.maxCreating.max}`,
  );
  check(
    c.containerPorts.length >= 1 &&
      c.containerPorts.length <= b.ports.max &&
      new Set(c.containerPorts).size === c.containerPorts.length &&
      c.containerPorts.every((p) => intIn(p, 1, 65535)),
    "containerPorts",
    `containerPorts must be 1-${b.ports.max} different ports between 1 and 65535`,
  );
  check(
    intIn(c.idleLimitMinutes, IDLE_LIMIT_MINUTES.min, IDLE_LIMIT_MINUTES.max),
    "idleLimitMinutes",
    `idleLimitMinutes must be a whole number from ${IDLE_LIMIT_MINUTES.min} to ${IDLE_LIMIT_MINUTES.max}`,
  );
  const stopped = STOPPED_LIMIT_MINUTES;
  check(
    c.stoppedLimitMinutes === undefined || intIn(c.stoppedLimitMinutes, stopped.min, stopped.max),
    "stoppedLimitMinutes",
    `stoppedLimitMinutes must be a whole number from ${stopped.min} to ${stopped.max}`,
  );
  return problems;
}
