/**
 * The GitHub App's private key and the App JWT it signs, with WebCrypto only (Convex's default
 * runtime has no Node crypto). GitHub issues keys as PKCS#1 ("BEGIN RSA PRIVATE KEY"), which
 * WebCrypto cannot import, so the DER is wrapped into PKCS#8 first; PKCS#8 keys are taken as
 * they are. A PEM pasted into an environment variable often arrives with literal `\n`, quotes
 * or CRLF line ends; all of those are accepted.
 * Leaves out: other key types (GitHub App keys are always RSA), encrypted PEMs, caching.
 */
import { GITHUB_APP_JWT_BACKDATE_S, GITHUB_APP_JWT_TTL_S } from "./limits";

/** A key that cannot be used; its message says what is wrong and never contains the key. */
export class PrivateKeyError extends Error {}

const PEM = /-----BEGIN (RSA )?PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END \1?PRIVATE KEY-----/;

/** The DER bytes of a PKCS#8 key, from a PKCS#1 or PKCS#8 PEM as pasted. */
export function pemToPkcs8(pem: string): Uint8Array<ArrayBuffer> {
  const text = pem
    .trim()
    .replace(/^["']|["']$/g, "")
    .replace(/\\r/g, "")
    .replace(/\\n/g, "\n");
  if (/BEGIN (ENCRYPTED|EC|OPENSSH) PRIVATE KEY/.test(text)) {
    throw new PrivateKeyError(
      "GITHUB_APP_PRIVATE_KEY is not an unencrypted RSA key: use the .pem file GitHub generated for the App",
    );
  }
  const match = PEM.exec(text);
  if (!match) {
    throw new PrivateKeyError(
      "GITHUB_APP_PRIVATE_KEY is not a PEM private key: paste the whole .pem file GitHub generated for the App, BEGIN and END lines included",
    );
  }
  let der: Uint8Array<ArrayBuffer>;
  try {
    der = base64ToBytes((match[2] ?? "").replace(/\s/g, ""));
  } catch {
    throw new PrivateKeyError("GITHUB_APP_PRIVATE_KEY's PEM body is not valid base64");
  }
  return match[1] ? wrapPkcs1(der) : der;
}

/** Imports the App's key for RS256 signing. */
export async function importAppKey(pem: string): Promise<CryptoKey> {
  const der = pemToPkcs8(pem);
  try {
    return await crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
  } catch {
    throw new PrivateKeyError(
      "GITHUB_APP_PRIVATE_KEY could not be read as an RSA private key: use the .pem file GitHub generated for the App",
    );
  }
}

/**
 * The App JWT GitHub documents: RS256, `iat` backdated for clock drift, `exp` inside GitHub's
 * 10-minute maximum, `iss` the App's id.
 */
export async function signAppJwt(key: CryptoKey, appId: string, nowMs = Date.now()): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  const header = base64url(utf8(JSON.stringify({ alg: "RS256", typ: "JWT" })));
  const payload = base64url(
    utf8(JSON.stringify({ iat: now - GITHUB_APP_JWT_BACKDATE_S, exp: now + GITHUB_APP_JWT_TTL_S, iss: appId })),
  );
  const signingInput = `${header}.${payload}`;
  const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, utf8(signingInput));
  return `${signingInput}.${base64url(new Uint8Array(signature))}`;
}

// PKCS#8 PrivateKeyInfo = SEQUENCE { INTEGER 0, AlgorithmIdentifier rsaEncryption, OCTET STRING pkcs1 }.
const VERSION_0 = [0x02, 0x01, 0x00];
const RSA_ENCRYPTION = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];

function wrapPkcs1(pkcs1: Uint8Array): Uint8Array<ArrayBuffer> {
  const octetString = [0x04, ...derLength(pkcs1.length)];
  const bodyLength = VERSION_0.length + RSA_ENCRYPTION.length + octetString.length + pkcs1.length;
  const head = [0x30, ...derLength(bodyLength), ...VERSION_0, ...RSA_ENCRYPTION, ...octetString];
  const out = new Uint8Array(head.length + pkcs1.length);
  out.set(head);
  out.set(pkcs1, head.length);
  return out;
}

/** DER definite length: short form below 128, else 0x80|n followed by n big-endian bytes. */
function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return [0x80 | bytes.length, ...bytes];
}

function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
