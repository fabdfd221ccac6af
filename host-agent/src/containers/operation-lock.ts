/**
 * One operation at a time per container: create, setup (up to `ready`), start, restart, stop,
 * redeploy and delete all claim the container's id here before their first await, so a second one is
 * answered 409 `conflict` naming what runs instead of running alongside (a restart cutting an
 * install short, a setup recreating the container a start is bringing back). Claimed and
 * released in memory only: after an agent restart nothing is under way.
 *
 * Delete does not get a 409: it waits for the operation under way (bounded), then removes.
 * Removing mid-operation could race a recreate (the container made again after its removal,
 * its host ports already handed back), and a refused delete would leave the control plane's
 * destroy failed for a reason the person cannot act on. While a delete waits, new operations
 * are refused, so it is not starved.
 *
 * Each claim also moves the container's generation (`generation`): work that goes on after its
 * claim ends (the main image build after `ready`) compares it to tell whether anything claimed
 * the container since, and then leaves its results unannounced. A delete's end forgets it.
 *
 * What it leaves out: cancelling the operation under way (none of them takes a signal).
 */
import { AppError } from "../api/errors.js";

/** Ends the claim; calling it twice is harmless. */
export type Release = () => void;

type Claim = { what: string; done: Promise<void>; end: () => void };

const DELETING = "being deleted";

export class OperationLock {
  private readonly held = new Map<string, Claim>();
  /** Containers a delete is waiting for: every new claim is refused. */
  private readonly deleting = new Set<string>();
  /** Container id -> the number of its last claim, from one counter (so never reused for an id). */
  private readonly lastClaim = new Map<string, number>();
  private claims = 0;

  /**
   * A number that changes whenever `id` is claimed (any operation, a delete too), and after its
   * delete ends; equal numbers mean nothing claimed it in between.
   */
  generation(id: string): number {
    return this.lastClaim.get(id) ?? 0;
  }

  /** What holds `id` now ("being set up", ...), or null. */
  holder(id: string): string | null {
    return this.held.get(id)?.what ?? null;
  }

  /**
   * Claims `id` for `what` (said in a refusal: "Container x is <what>"), synchronously: two
   * requests in the same tick cannot both get it. 409 while another operation or a delete holds it.
   */
  claim(id: string, what: string): Release {
    if (this.deleting.has(id)) throw new AppError("conflict", `Container ${id} is being deleted`);
    const current = this.held.get(id);
    if (current) throw new AppError("conflict", `Container ${id} is ${current.what}; try again when it is done`);
    return this.take(id, what);
  }

  /**
   * Claims `id` for a delete once the operation under way ends, waiting at most `timeoutMs`
   * (then 409, and nothing is removed). Refuses every other claim meanwhile.
   */
  async claimForDelete(id: string, timeoutMs: number): Promise<Release> {
    if (this.deleting.has(id)) throw new AppError("conflict", `Container ${id} is already being deleted`);
    this.deleting.add(id);
    try {
      const current = this.held.get(id);
      if (current) {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), timeoutMs)));
        const outcome = await Promise.race([current.done.then(() => "done" as const), late]);
        clearTimeout(timer);
        if (outcome === "late")
          throw new AppError("conflict", `Container ${id} is still ${current.what}; delete it again shortly`);
      }
      return this.take(id, DELETING);
    } finally {
      this.deleting.delete(id);
    }
  }

  private take(id: string, what: string): Release {
    let end!: () => void;
    const done = new Promise<void>((resolve) => (end = resolve));
    const claim: Claim = { what, done, end };
    this.held.set(id, claim);
    this.lastClaim.set(id, ++this.claims);
    return () => {
      if (this.held.get(id) !== claim) return;
      this.held.delete(id);
      // The container is gone: its entry goes too, so the map holds only containers still here.
      if (what === DELETING) this.lastClaim.delete(id);
      claim.end();
    };
  }
}
