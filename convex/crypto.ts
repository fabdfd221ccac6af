/**
 * The one encryption helper of the control plane: secrets at rest (repo settings' variable values
 * today, host secrets later) sealed with AES-256-GCM through WebCrypto, which Convex's default
 * runtime has, so no Node action is needed.
 *
 * Each value is sealed with a fresh random 96-bit IV and with additional authenticated data (AAD)
 * naming its place (e.g. `repoSettings:<repoId>:env:<NAME>`): a ciphertext copied to another
 * repo or another variable fails to decrypt instead of leaking under a new name. GCM's tag makes
 * any change to the ciphertext, IV or AAD fail the same way.
 *
 * Left out on purpose: key rotation (one key; a rotation would re-encrypt every value), and any
 * logging. Errors never contain a plaintext, a ciphertext or the key.
 */
import { env } from "./_generated/server";

/** What is stored for one sealed value: both base64. */
export type SecretBox = { ciphertext: string; iv: string };

const KEY_BYTES = 32;
/** 96 bits: the IV length GCM is designed for (NIST SP 800-38D). */
const IV_BYTES = 12;
const KEY_HELP =
  "SETTINGS_ENCRYPTION_KEY must be 32 random bytes, as base64 or hex. Make one with `openssl rand -base64 32` " +
  "and set it with `npx convex env set SETTINGS_ENCRYPTION_KEY <value>`.";

const toBase64 = (bytes: Uint8Array) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));

function fromBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The 32 key bytes from hex (64 digits) or base64/base64url (43 characters, optionally padded). */
function keyBytes(raw: string): Uint8Array<ArrayBuffer> | null {
  const s = raw.trim();
  // Hex first: 64 hex digits are also valid base64, of the wrong length.
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(s)) {
    const bytes = fromBase64(s.replace(/=$/, "").replace(/-/g, "+").replace(/_/g, "/") + "=");
    return bytes.length === KEY_BYTES ? bytes : null;
  }
  return null;
}

/** An AES-256-GCM key from its text form, or an error that says how to make a good one. */
export async function parseKey(raw: string | undefined): Promise<CryptoKey> {
  if (raw === undefined || raw.trim() === "") throw new Error(`SETTINGS_ENCRYPTION_KEY is not set. ${KEY_HELP}`);
  const bytes = keyBytes(raw);
  if (!bytes) throw new Error(`SETTINGS_ENCRYPTION_KEY is not a valid key. ${KEY_HELP}`);
  return await crypto.subtle.importKey("raw", bytes, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

/** The deployment's settings key (SETTINGS_ENCRYPTION_KEY), read where it is needed. */
export async function readSettingsKey(): Promise<CryptoKey> {
  return await parseKey(env.SETTINGS_ENCRYPTION_KEY);
}

const utf8 = new TextEncoder();

/** Seals `plaintext` bound to `aad` (its place); a fresh IV every time. */
export async function encryptSecret(key: CryptoKey, plaintext: string, aad: string): Promise<SecretBox> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8.encode(aad) },
    key,
    utf8.encode(plaintext),
  );
  return { ciphertext: toBase64(new Uint8Array(sealed)), iv: toBase64(iv) };
}

/**
 * Opens a box sealed for `aad`. Throws one error for every failure (wrong key, altered
 * ciphertext or IV, a box from another place) that names the place, never the value.
 */
export async function decryptSecret(key: CryptoKey, box: SecretBox, aad: string): Promise<string> {
  try {
    const iv = fromBase64(box.iv);
    if (iv.length !== IV_BYTES) throw new Error("bad iv");
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: utf8.encode(aad) },
      key,
      fromBase64(box.ciphertext),
    );
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } catch {
    throw new Error(
      `The secret stored for ${aad} could not be decrypted: SETTINGS_ENCRYPTION_KEY differs from the one it was ` +
        "saved with, or the stored value was altered. Set the value again.",
    );
  }
}
