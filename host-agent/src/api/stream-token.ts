/**
 * Short-lived tokens that let a browser open one container's logs or terminal without ever
 * holding the API secret. Minted by the control plane for the environment's owner, verified by
 * the agent; both import this module (WebCrypto only, so it runs in Node and in Convex).
 *
 * Format: `v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(key, "v1.<claims>"))>`, claims
 * `{c: containerId, s: scope, e: expiry in unix seconds}`. Verification is WebCrypto's HMAC
 * verify (constant time) and then the claims: container, scope and expiry must all match.
 */
import { z } from "zod";

export const STREAM_TOKEN_SCOPES = ["logs", "terminal"] as const;
export type StreamTokenScope = (typeof STREAM_TOKEN_SCOPES)[number];

const Claims = z.object({ c: z.string(), s: z.enum(STREAM_TOKEN_SCOPES), e: z.number().int() });

const PREFIX = "v1";
const encoder = new TextEncoder();

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  try {
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function hmacKey(key: string, usage: "sign" | "verify") {
  return crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

export async function mintStreamToken(
  key: string,
  claims: { containerId: string; scope: StreamTokenScope; expiresAt: number },
): Promise<string> {
  const body = toBase64Url(
    encoder.encode(JSON.stringify({ c: claims.containerId, s: claims.scope, e: Math.floor(claims.expiresAt / 1000) })),
  );
  const signed = `${PREFIX}.${body}`;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(key, "sign"), encoder.encode(signed)));
  return `${signed}.${toBase64Url(mac)}`;
}

/** True only for an untampered, unexpired token for exactly this container and scope. */
export async function verifyStreamToken(
  key: string,
  token: string,
  expected: { containerId: string; scope: StreamTokenScope; now?: number },
): Promise<boolean> {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== PREFIX) return false;
  const [, body, mac] = parts as [string, string, string];
  const macBytes = fromBase64Url(mac);
  const bodyBytes = fromBase64Url(body);
  if (!macBytes || !bodyBytes) return false;
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(key, "verify"),
    macBytes,
    encoder.encode(`${PREFIX}.${body}`),
  );
  if (!valid) return false;
  let claims: z.infer<typeof Claims>;
  try {
    claims = Claims.parse(JSON.parse(new TextDecoder().decode(bodyBytes)));
  } catch {
    return false;
  }
  const nowSeconds = Math.floor((expected.now ?? Date.now()) / 1000);
  return claims.c === expected.containerId && claims.s === expected.scope && claims.e > nowSeconds;
}
