/**
 * The current time, ticking every `intervalMs`, for uptimes, "x ago" and idle countdowns that
 * stay true. One shared timer per interval for the whole page, however many rows and cells read
 * it (a table of environments does not start an interval per row), started with the first
 * reader and stopped with the last.
 */
import { useCallback, useSyncExternalStore } from "react";

type Clock = { now: number; timer: ReturnType<typeof setInterval>; listeners: Set<() => void> };
const clocks = new Map<number, Clock>();
/**
 * The time read before a clock exists (a first render), kept until one does: React asks for
 * the snapshot more than once per render and needs the same answer each time.
 */
const beforeStart = new Map<number, number>();

function subscribe(intervalMs: number, listener: () => void): () => void {
  let clock = clocks.get(intervalMs);
  if (!clock) {
    const created: Clock = {
      now: Date.now(),
      listeners: new Set(),
      timer: setInterval(() => {
        created.now = Date.now();
        created.listeners.forEach((l) => l());
      }, intervalMs),
    };
    clocks.set(intervalMs, created);
    beforeStart.delete(intervalMs);
    clock = created;
  }
  clock.listeners.add(listener);
  const current = clock;
  return () => {
    current.listeners.delete(listener);
    if (current.listeners.size === 0) {
      clearInterval(current.timer);
      clocks.delete(intervalMs);
    }
  };
}

/** How many timers are running (for tests: one per interval, whatever the number of readers). */
export const runningClocks = () => clocks.size;

export function useNow(intervalMs = 1000): number {
  const sub = useCallback((listener: () => void) => subscribe(intervalMs, listener), [intervalMs]);
  const snapshot = useCallback(() => {
    const clock = clocks.get(intervalMs);
    if (clock) return clock.now;
    if (!beforeStart.has(intervalMs)) beforeStart.set(intervalMs, Date.now());
    return beforeStart.get(intervalMs)!;
  }, [intervalMs]);
  return useSyncExternalStore(sub, snapshot);
}
