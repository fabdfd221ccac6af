/**
 * Hands out host ports from the configured range: lowest free first (`start + index`), each
 * held until released. It keeps no file: at start-up it is rebuilt from the `artie.ports`
 * labels of the containers that exist, so a restarted agent never hands out a port still held.
 * Reservation is synchronous, so two concurrent creates can never pick the same port.
 */
import { AppError } from "../api/errors.js";

export class PortAllocator {
  private readonly held = new Set<number>();
  /** Ports something outside the agent turned out to hold; skipped until the agent restarts. */
  private readonly foreign = new Set<number>();

  constructor(private readonly range: { start: number; end: number }) {}

  /** Marks ports as held (used when rebuilding from labels). */
  markHeld(ports: Iterable<number>): void {
    for (const p of ports) this.held.add(p);
  }

  /** Marks a port as taken by something else on the host; it is never handed out again. */
  markForeign(port: number): void {
    this.held.delete(port);
    this.foreign.add(port);
  }

  reserve(count: number): number[] {
    const picked: number[] = [];
    for (let p = this.range.start; p <= this.range.end && picked.length < count; p++) {
      if (!this.held.has(p) && !this.foreign.has(p)) picked.push(p);
    }
    if (picked.length < count) {
      const size = this.range.end - this.range.start + 1;
      throw new AppError(
        "port_range_exhausted",
        `No free host port: all ${size} ports of ${this.range.start}-${this.range.end} are held. Destroy unused containers or widen PORT_RANGE.`,
      );
    }
    for (const p of picked) this.held.add(p);
    return picked;
  }

  release(ports: Iterable<number>): void {
    for (const p of ports) this.held.delete(p);
  }

  isHeld(port: number): boolean {
    return this.held.has(port);
  }

  get heldCount(): number {
    return this.held.size;
  }
}
