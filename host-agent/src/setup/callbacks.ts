/**
 * Signed, persistent delivery of setup callbacks to the control plane.
 *
 * Each callback is signed per Standard Webhooks: `webhook-id`, `webhook-timestamp` and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. The key is the
 * callbackSecret's bytes, or the base64 after `whsec_` when it has that prefix. Only a 2xx
 * answer counts as delivered; anything else is retried with exponential backoff and full jitter.
 * Every callback is written to DATA_DIR/callbacks before the first attempt (mode 0600: it holds
 * the callback secret) and removed once delivered, so an agent killed with -9 delivers it after
 * its restart, with the same webhook-id so the receiver can drop duplicates.
 */
import { createHmac, randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { SetupCallback } from "../api/contract.js";
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

export class CallbackOutbox {
  private readonly dir: string;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    dataDir: string,
    private readonly logger: Logger,
  ) {
    this.dir = path.join(dataDir, "callbacks");
  }

  /** Re-sends whatever a previous run left undelivered. */
  async resume(): Promise<number> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const files = (await readdir(this.dir)).filter((f) => f.endsWith(".json"));
    for (const f of files) {
      try {
        const pending = Pending.parse(JSON.parse(await readFile(path.join(this.dir, f), "utf8")));
        this.track(this.deliver(pending));
      } catch (err) {
        this.logger.warn({ err, file: f }, "dropping unreadable pending callback");
        await rm(path.join(this.dir, f), { force: true });
      }
    }
    return files.length;
  }

  /** Persists, then delivers in the background; resolves once it is safely on disk. */
  async send(url: string, secret: string, payload: SetupCallback): Promise<void> {
    const pending: Pending = {
      webhookId: `msg_${randomUUID()}`,
      url,
      secret,
      body: JSON.stringify(SetupCallback.parse(payload)),
      createdAt: Date.now(),
    };
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.fileFor(pending.webhookId);
    await writeFile(`${file}.tmp`, JSON.stringify(pending), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
    this.track(this.deliver(pending));
  }

  /** Stops retrying (pending callbacks stay on disk for the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves when nothing is being delivered (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track(p: Promise<void>) {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private fileFor(webhookId: string) {
    return path.join(this.dir, `${webhookId}.json`);
  }

  private async deliver(p: Pending): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      if (Date.now() - p.createdAt > CALLBACK_MAX_AGE_MS) {
        this.logger.error({ webhookId: p.webhookId }, "callback expired undelivered");
        break;
      }
      const status = await this.attempt(p);
      if (status >= 200 && status < 300) break;
      const delay = Math.random() * Math.min(CALLBACK_RETRY_CAP_MS, CALLBACK_RETRY_BASE_MS * 2 ** attempt);
      this.logger.warn(
        { webhookId: p.webhookId, status, attempt, retryInMs: Math.round(delay) },
        "callback not accepted",
      );
      await this.sleep(delay);
    }
    if (!this.stopped) await rm(this.fileFor(p.webhookId), { force: true });
  }

  /** One POST; answers the HTTP status, or 0 when the receiver could not be reached. */
  private async attempt(p: Pending): Promise<number> {
    const headers = signWebhook(p.secret, p.webhookId, p.body, Math.floor(Date.now() / 1000));
    try {
      const res = await fetch(p.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: p.body,
        signal: AbortSignal.timeout(CALLBACK_REQUEST_TIMEOUT_MS),
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
      const timer = setTimeout(resolve, ms);
      const check = setInterval(() => {
        if (this.stopped) {
          clearTimeout(timer);
          clearInterval(check);
          resolve();
        }
      }, 100);
      setTimeout(() => clearInterval(check), ms + 1);
    });
  }
}
