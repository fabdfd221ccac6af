/**
 * The last sign of use per container, as the agent sees it: an exec, terminal input (opening a
 * terminal alone is not use), a log stream attaching (at attach only: routes/logs.ts says why).
 * The container's details carry it as
 * `lastActivityAt`, which the control plane's idle reaper counts from.
 *
 * In memory only: after an agent restart the container's own start time is the floor
 * (details.ts). Entries are made only for containers the service resolved (the routes record
 * after the id was found), dropped when Docker destroys the container (the watch's events), and
 * capped at ACTIVITY_MAX_CONTAINERS, least recently used first, so no stream of ids can grow it.
 */
import { ACTIVITY_MAX_CONTAINERS } from "../config.js";

export class ActivityLog {
  /** Insertion order is recency order: a record moves its id to the end. */
  private readonly last = new Map<string, number>();

  constructor(private readonly max = ACTIVITY_MAX_CONTAINERS) {}

  record(id: string, at = Date.now()): void {
    this.last.delete(id);
    this.last.set(id, at);
    while (this.last.size > this.max) this.last.delete(this.last.keys().next().value!);
  }

  /** Ms since the epoch of the last use seen since the agent started; null when none was. */
  lastAt(id: string): number | null {
    return this.last.get(id) ?? null;
  }

  forget(id: string): void {
    this.last.delete(id);
  }

  get size(): number {
    return this.last.size;
  }
}
