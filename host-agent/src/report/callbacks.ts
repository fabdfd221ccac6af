/**
 * Signed, persistent delivery of setup callbacks to the control plane, one container's in order.
 *
 * Each callback is signed per Standard Webhooks: `webhook-id`, `webhook-timestamp` and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. The key is the
 * callbackSecret's bytes, or the base64 after `whsec_` when it has that prefix. Only a 2xx
 * answer counts as delivered; anything else is retried with exponential backoff and full jitter.
 * Every callback is written to DATA_DIR/callbacks before the first attempt (mode 0600: it holds
 * the callback secret) and removed once delivered, so an agent killed with -9 delivers it after
 * its restart, with the same webhook-id so the receiver can drop duplicates.
 *
 * Order: each container has a queue of its undelivered callbacks in sequence order, and only the
 * head is ever being delivered: a later callback waits until the earlier one is delivered or
 * dropped (expired, or, while the receiver fails, replaced: `supersedes`). Retries never let a
 * newer one overtake it, so the control plane sees every container's phases in the order they
 * happened. Containers do not wait for each other. After a restart the queues are rebuilt from
 * the files, ordered by the sequence in each body.
 */
import { createHmac, randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { SETUP_PHASES, SetupCallback } from "../api/contract.js";
import {
  CALLBACK_MAX_AGE_MS,
  CALLBACK_REQUEST_TIMEOUT_MS,
  CALLBACK_RETRY_BASE_MS,
  CALLBACK_RETRY_CAP_MS,
} from "../config.js";
import type { Logger } from "../lib/logger.js";

const Pending = z.object({
  webhookId: z.string(),
  url: z.string(),
  secret: z.string(),
  body: z.string(),
  createdAt: z.number(),
});
type Pending = z.infer<typeof Pending>;

/**
 * What the outbox tells whoever counts its work (metrics/): each delivery attempt's result
 * (delivered: a 2xx; refused: another status; unreachable: no answer in time) and whether it
 * retried an earlier failure, and each callback given up undelivered.
 */
export type DeliveryResult = "delivered" | "refused" | "unreachable";
export type DropReason = "expired" | "replaced";
export type OutboxObserver = {
  attempted: (result: DeliveryResult, retry: boolean) => void;
  dropped: (reason: DropReason) => void;
};
const UNOBSERVED: OutboxObserver = { attempted: () => {}, dropped: () => {} };

/** One undelivered callback in its container's queue. */
type Queued = { pending: Pending; callback: SetupCallback; attempts: number; attempting: boolean };

function signingKey(secret: string): Buffer {
  return secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");
}

/** Standard Webhooks headers for one delivery attempt. */
export function signWebhook(secret: string, webhookId: string, body: string, nowSeconds: number) {
  const timestamp = String(nowSeconds);
  const signature = createHmac("sha256", signingKey(secret))
    .update(`${webhookId}.${timestamp}.${body}`)
    .digest("base64");
  return { "webhook-id": webhookId, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` };
}

/** Phases whose callback says nothing but "this phase began" (and when, and how long the last took). */
const PROGRESS: ReadonlySet<string> = new Set(["cloning", "installing", "starting"]);
const rank = (phase: string) => SETUP_PHASES.indexOf(phase as (typeof SETUP_PHASES)[number]);

/**
 * Whether an undelivered `older` callback may be dropped because `newer` (same container, later
 * sequence) carries everything it carries. Exactly two cases:
 * - `older` is `cloning`, `installing` or `starting`, and `newer` is a later phase up to `ready`
 *   of the same repo and branch (an undelivered `installing` replaced by `starting`, `cloning` by
 *   `ready`). The control plane applies a callback that skips phases, so the record ends where it
 *   would have ended. Lost is only `older`'s timing: its `at` and its `previousPhaseMs` (how long
 *   the phase before it took), so that phase's duration goes unrecorded.
 * - `older` is a `ready` without `mainImage`, and `newer` is a `ready` of the same repo, branch,
 *   host port and URL (the second `ready` after a main image build, or the next setup's).
 * Never dropped: an `error` (it says what failed and why), a `ready` carrying `mainImage` (the
 * control plane records the repo's main image from it), and anything before an `error` (the
 * record goes through the phases it reached, then fails).
 */
export function supersedes(newer: SetupCallback, older: SetupCallback): boolean {
  if (newer.containerId !== older.containerId || newer.sequence <= older.sequence) return false;
  if (newer.repo !== older.repo || newer.branch !== older.branch) return false;
  if (older.error !== undefined || older.mainImage !== undefined || newer.phase === "error") return false;
  if (PROGRESS.has(older.phase)) return rank(newer.phase) > rank(older.phase);
  return (
    older.phase === "ready" && newer.phase === "ready" && newer.hostPort === older.hostPort && newer.url === older.url
  );
}

export class CallbackOutbox {
  private readonly dir: string;
  private stopped = false;
  /** Container id -> its undelivered callbacks in sequence order; the head is the one being sent. */
  private readonly queues = new Map<string, Queued[]>();
  private readonly workers = new Set<Promise<void>>();
  /** Wakes sleeping retries at once when the outbox stops. */
  private readonly sleepers = new Set<() => void>();
  /** Cuts delivery attempts in flight when the outbox stops: their files stay for the next start. */
  private readonly stopping = new AbortController();
  /** Callbacks being written to disk right now; stop waits for them. */
  private readonly writes = new Set<Promise<void>>();

  constructor(
    dataDir: string,
    private readonly logger: Logger,
    private readonly observer: OutboxObserver = UNOBSERVED,
  ) {
    this.dir = path.join(dataDir, "callbacks");
  }

  /** Callbacks not yet delivered nor dropped, every container's queue together. */
  depth(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.length;
    return n;
  }

  /** Re-sends whatever a previous run left undelivered, each container's in sequence order. */
  async resume(): Promise<number> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const files = (await readdir(this.dir)).filter((f) => f.endsWith(".json"));
    const found: Queued[] = [];
    for (const f of files) {
      try {
        const pending = Pending.parse(JSON.parse(await readFile(path.join(this.dir, f), "utf8")));
        const callback = SetupCallback.parse(JSON.parse(pending.body));
        found.push({ pending, callback, attempts: 0, attempting: false });
      } catch (err) {
        this.logger.warn({ err, file: f }, "dropping unreadable pending callback");
        await rm(path.join(this.dir, f), { force: true });
      }
    }
    for (const q of found.sort((a, b) => a.callback.sequence - b.callback.sequence)) this.enqueue(q);
    return files.length;
  }

  /** Persists, then delivers in the background; resolves once it is safely on disk. */
  async send(url: string, secret: string, payload: SetupCallback): Promise<void> {
    const callback = SetupCallback.parse(payload);
    const pending: Pending = {
      webhookId: `msg_${randomUUID()}`,
      url,
      secret,
      body: JSON.stringify(callback),
      createdAt: Date.now(),
    };
    const written = this.persist(pending);
    this.writes.add(written);
    try {
      await written;
    } finally {
      this.writes.delete(written);
    }
    this.enqueue({ pending, callback, attempts: 0, attempting: false });
  }

  /**
   * Stops delivering: attempts in flight are cut, and callbacks being written are waited for, so
   * every callback sent before the stop is on disk for the next start (which re-sends it with the
   * same webhook-id; the receiver drops one that arrived after all).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    for (const wake of this.sleepers) wake();
    await Promise.allSettled([...this.writes, ...this.workers]);
  }

  /** Written whole or not at all (a rename): a half-written file is never read back. */
  private async persist(pending: Pending): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.fileFor(pending.webhookId);
    await writeFile(`${file}.tmp`, JSON.stringify(pending), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  /** Resolves when nothing is being delivered (tests). */
  async idle(): Promise<void> {
    while (this.workers.size > 0) await Promise.allSettled([...this.workers]);
  }

  /**
   * Puts a callback in its container's queue, in sequence order. While the receiver is failing
   * this container's callbacks (the head was refused or unreachable at least once), it drops the
   * undelivered ones it supersedes, never the one being attempted right now (that one may already
   * have arrived). A receiver that merely takes its time loses nothing: every phase's timing
   * arrives. The replaced file is removed after the new one was written, so a crash in between
   * leaves both on disk, and both are sent after the restart.
   */
  private enqueue(item: Queued) {
    const id = item.callback.containerId;
    const existing = this.queues.get(id);
    const queue = existing ?? [];
    const failing = (queue[0]?.attempts ?? 0) > 0;
    const replaced = failing ? queue.filter((q) => !q.attempting && supersedes(item.callback, q.callback)) : [];
    for (const older of replaced) {
      queue.splice(queue.indexOf(older), 1);
      this.observer.dropped("replaced");
      // The receiver was failing for the older one: the newer one keeps its backoff.
      item.attempts = Math.max(item.attempts, older.attempts);
      // A file left behind is sent after a restart and dropped there as stale: logged, not thrown.
      rm(this.fileFor(older.pending.webhookId), { force: true }).catch((err: unknown) =>
        this.logger.warn({ id, err: String(err) }, "could not remove a replaced callback's file"),
      );
      this.logger.info(
        { id, dropped: older.callback.phase, by: item.callback.phase, webhookId: older.pending.webhookId },
        "undelivered callback replaced by a newer one",
      );
    }
    const at = queue.findIndex((q) => q.callback.sequence > item.callback.sequence);
    queue.splice(at < 0 ? queue.length : Math.max(at, queue[0]?.attempting ? 1 : 0), 0, item);
    if (existing) return;
    this.queues.set(id, queue);
    const worker = this.drain(id, queue).finally(() => this.workers.delete(worker));
    this.workers.add(worker);
  }

  /** Delivers one container's queue head first, until it is empty or the outbox stops. */
  private async drain(id: string, queue: Queued[]): Promise<void> {
    try {
      while (queue.length > 0 && !this.stopped) {
        const item = queue[0]!;
        const p = item.pending;
        if (Date.now() - p.createdAt > CALLBACK_MAX_AGE_MS) {
          this.logger.error({ webhookId: p.webhookId, id, phase: item.callback.phase }, "callback expired undelivered");
          queue.shift();
          this.observer.dropped("expired");
          await rm(this.fileFor(p.webhookId), { force: true });
          continue;
        }
        item.attempting = true;
        const status = await this.attempt(p);
        item.attempting = false;
        // Cut by stop: it stays on disk and in order for the next start.
        if (this.stopped && status === 0) break;
        const delivered = status >= 200 && status < 300;
        this.observer.attempted(delivered ? "delivered" : status === 0 ? "unreachable" : "refused", item.attempts > 0);
        if (delivered) {
          queue.shift();
          await rm(this.fileFor(p.webhookId), { force: true });
          continue;
        }
        const cap = Math.min(CALLBACK_RETRY_CAP_MS, CALLBACK_RETRY_BASE_MS * 2 ** item.attempts);
        const delay = Math.random() * cap;
        this.logger.warn(
          { webhookId: p.webhookId, id, status, attempt: item.attempts, retryInMs: Math.round(delay) },
          "callback not accepted",
        );
        item.attempts++;
        await this.sleep(delay);
      }
    } finally {
      // Nothing awaits between the loop's last check and this: a send meanwhile found the queue.
      this.queues.delete(id);
    }
  }

  private fileFor(webhookId: string) {
    return path.join(this.dir, `${webhookId}.json`);
  }

  /** One POST; answers the HTTP status, or 0 when the receiver could not be reached. */
  private async attempt(p: Pending): Promise<number> {
    const headers = signWebhook(p.secret, p.webhookId, p.body, Math.floor(Date.now() / 1000));
    try {
      const res = await fetch(p.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: p.body,
        signal: AbortSignal.any([AbortSignal.timeout(CALLBACK_REQUEST_TIMEOUT_MS), this.stopping.signal]),
      });
      await res.body?.cancel();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** Sleeps, but wakes early when stopped so shutdown is not held up by a long backoff. */
  private sleep(ms: number) {
    return new Promise<void>((resolve) => {
      if (this.stopped) return resolve();
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
