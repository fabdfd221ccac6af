/**
 * Standard Webhooks verification for the agent's callbacks: HMAC-SHA256 over
 * "id.timestamp.body", keyed with the shared callback secret (raw, or `whsec_<base64>`),
 * checked with WebCrypto's verify (constant time), with a timestamp window. Replays are caught
 * by the caller, which remembers webhook ids.
 */
import { WEBHOOK_TOLERANCE_MS } from "./limits";

export type Verdict = { ok: true; webhookId: string } | { ok: false; status: 400 | 401; reason: string };

function keyBytes(secret: string): Uint8Array<ArrayBuffer> {
  if (secret.startsWith("whsec_")) return Uint8Array.from(atob(secret.slice(6)), (c) => c.charCodeAt(0));
  return new TextEncoder().encode(secret);
}

function base64ToBytes(value: string): Uint8Array<ArrayBuffer> | null {
  try {
    return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

export async function verifyWebhook(
  secret: string,
  headers: Headers,
  body: string,
  now = Date.now(),
): Promise<Verdict> {
  const id = headers.get("webhook-id");
  const timestamp = headers.get("webhook-timestamp");
  const signatures = headers.get("webhook-signature");
  if (!id || !timestamp || !signatures) return { ok: false, status: 400, reason: "missing webhook headers" };
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds) || Math.abs(now - seconds * 1000) > WEBHOOK_TOLERANCE_MS) {
    return { ok: false, status: 401, reason: "timestamp outside the allowed window" };
  }
  const key = await crypto.subtle.importKey("raw", keyBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "verify",
  ]);
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
  for (const entry of signatures.split(" ")) {
    const [version, value] = entry.split(",");
    const bytes = version === "v1" && value ? base64ToBytes(value) : null;
    if (bytes && (await crypto.subtle.verify("HMAC", key, bytes, signed))) return { ok: true, webhookId: id };
  }
  return { ok: false, status: 401, reason: "bad signature" };
}
