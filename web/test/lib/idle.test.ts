// The idle countdown's arithmetic: minutes gone and left add up to the limit, the stopped limit
// counts from the stop, an overdue one says so, and setups under way have none.
import { describe, expect, it } from "vitest";
import { formatSpan, idleCountdown, type IdleInput } from "../../src/lib/idle";

const MIN = 60_000;
const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const env = (o: Partial<IdleInput> = {}): IdleInput => ({
  status: "ready",
  lastActivityAt: NOW - 40 * MIN,
  idleLimitMinutes: 120,
  stoppedLimitMinutes: 60,
  ...o,
});

describe("idleCountdown", () => {
  it("counts a running environment towards its stop", () => {
    expect(idleCountdown(env(), NOW)).toEqual({
      phase: "running",
      idleMs: 40 * MIN,
      leftMs: 80 * MIN,
      text: "idle 40 min, stops in 80 min",
    });
    expect(idleCountdown(env({ status: "error" }), NOW)?.text).toBe("idle 40 min, stops in 80 min");
  });

  it("adds up to the limit between whole minutes", () => {
    expect(idleCountdown(env({ lastActivityAt: NOW - 40 * MIN - 30_000 }), NOW)?.text).toBe(
      "idle 40 min, stops in 80 min",
    );
    expect(idleCountdown(env({ lastActivityAt: NOW - 10_000 }), NOW)?.text).toBe("idle under 1 min, stops in 120 min");
  });

  it("uses the limit it is given (a repo's own idle limit)", () => {
    expect(idleCountdown(env({ idleLimitMinutes: 45 }), NOW)?.text).toBe("idle 40 min, stops in 5 min");
  });

  it("counts a stopped environment towards its removal, from the stop", () => {
    expect(idleCountdown(env({ status: "stopped", lastActivityAt: NOW - 10 * MIN }), NOW)).toEqual({
      phase: "stopped",
      idleMs: 10 * MIN,
      leftMs: 50 * MIN,
      text: "stopped 10 min, removed in 50 min",
    });
    expect(
      idleCountdown(env({ status: "stopped", lastActivityAt: NOW - 10 * MIN, stoppedLimitMinutes: 1440 }), NOW)?.text,
    ).toBe("stopped 10 min, removed in 23 h 50 min");
  });

  it("says the reaper acts now once a deadline has passed", () => {
    expect(idleCountdown(env({ lastActivityAt: NOW - 125 * MIN }), NOW)).toMatchObject({
      leftMs: 0,
      text: "idle 2 h 5 min, stops now",
    });
    expect(idleCountdown(env({ status: "stopped", lastActivityAt: NOW - 61 * MIN }), NOW)?.text).toBe(
      "stopped 61 min, removed now",
    );
  });

  it("treats activity stamped a little ahead of this clock as just now", () => {
    expect(idleCountdown(env({ lastActivityAt: NOW + 5_000 }), NOW)).toMatchObject({ idleMs: 0, leftMs: 120 * MIN });
  });

  it("has no countdown for setups under way, pooled or gone environments", () => {
    for (const status of [
      "creating",
      "pooled",
      "assigned",
      "cloning",
      "installing",
      "starting",
      "destroying",
      "destroyed",
    ] as const)
      expect(idleCountdown(env({ status }), NOW)).toBeNull();
  });
});

describe("formatSpan", () => {
  it("says minutes up to two hours, then hours, then days", () => {
    expect(formatSpan(59_999)).toBe("under 1 min");
    expect(formatSpan(80 * MIN)).toBe("80 min");
    expect(formatSpan(120 * MIN)).toBe("120 min");
    expect(formatSpan(121 * MIN)).toBe("2 h 1 min");
    expect(formatSpan(180 * MIN)).toBe("3 h");
    expect(formatSpan(47 * 60 * MIN + 59 * MIN)).toBe("47 h 59 min");
    expect(formatSpan(48 * 60 * MIN)).toBe("2 d");
    expect(formatSpan(76 * 60 * MIN)).toBe("3 d 4 h");
  });

  it("rounds time left up and time gone down", () => {
    expect(formatSpan(79.5 * MIN, "up")).toBe("80 min");
    expect(formatSpan(79.5 * MIN)).toBe("79 min");
  });
});
