// The hooks behind "Stopping…" and the ticking countdowns: the wait for the host ends when the
// record moves, stays ended when it comes back, gives up after the agent call's own timeout; and
// every reader of the clock ticks from one shared timer.
import { act, renderHook } from "@testing-library/react";
import { AGENT_REQUEST_TIMEOUT_MS } from "@convex/limits";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { useAwaitingHost } from "../../src/hooks/useAwaitingHost";
import { runningClocks, useNow } from "../../src/hooks/useNow";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

it("waits until the key changes, and not again when it comes back", () => {
  const { result, rerender } = renderHook(({ k }) => useAwaitingHost(k), { initialProps: { k: "ready" } });
  expect(result.current.waiting).toBe(false);
  act(() => result.current.markSent());
  expect(result.current.waiting).toBe(true);
  rerender({ k: "stopped" });
  expect(result.current.waiting).toBe(false);
  rerender({ k: "ready" });
  expect(result.current.waiting).toBe(false);
});

it("gives up once the agent call could no longer be running", () => {
  const { result } = renderHook(() => useAwaitingHost("ready"));
  act(() => result.current.markSent());
  act(() => void vi.advanceTimersByTime(AGENT_REQUEST_TIMEOUT_MS + 1_000));
  expect(result.current.waiting).toBe(false);
});

it("ticks every reader of the clock from one timer", () => {
  const readers = Array.from({ length: 25 }, () => renderHook(() => useNow()));
  expect(runningClocks()).toBe(1);
  const before = readers[0]!.result.current;
  act(() => void vi.advanceTimersByTime(3_000));
  expect(readers.every((r) => r.result.current === before + 3_000)).toBe(true);
  readers.forEach((r) => r.unmount());
  expect(runningClocks()).toBe(0);
});
