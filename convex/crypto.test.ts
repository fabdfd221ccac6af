// The settings encryption helper with WebCrypto as Convex's runtime has it: values come back only
// with the right key, untouched, in the place they were sealed for.
import { afterEach, describe, expect, it, vi } from "vitest";
import { decryptSecret, encryptSecret, parseKey, readSettingsKey } from "./crypto";

const HEX_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const randomBase64Key = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
const AAD = "repoSettings:repo1:env:DATABASE_URL";
const SECRET = "postgres://app:s3cr3t-ü@db/app";

afterEach(() => vi.unstubAllEnvs());

/** Flips one bit of the byte at `index` of a base64 string. */
function flipBit(b64: string, index: number): string {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  bytes.set([(bytes.at(index) ?? 0) ^ 1], index);
  return btoa(String.fromCharCode(...bytes));
}

describe("parseKey", () => {
  it("accepts 32 bytes as base64 (padded, unpadded, url-safe, with a trailing newline) and as hex", async () => {
    const b64 = randomBase64Key();
    for (const raw of [b64, b64.replace(/=$/, ""), b64.replace(/\+/g, "-").replace(/\//g, "_"), `${b64}\n`, HEX_KEY]) {
      const key = await parseKey(raw);
      expect(key.algorithm).toMatchObject({ name: "AES-GCM", length: 256 });
      expect(key.extractable).toBe(false);
    }
  });

  it("gives one clear error naming the variable and how to make a key", async () => {
    const short = btoa("x".repeat(16));
    for (const raw of [
      undefined,
      "",
      "  ",
      short,
      HEX_KEY.slice(2),
      `${HEX_KEY}00`,
      "not a key at all",
      "!".repeat(44),
    ]) {
      await expect(parseKey(raw)).rejects.toThrow(/SETTINGS_ENCRYPTION_KEY .*openssl rand -base64 32/);
    }
    await expect(parseKey(undefined)).rejects.toThrow(/SETTINGS_ENCRYPTION_KEY is not set/);
    await expect(parseKey(short)).rejects.toThrow(/SETTINGS_ENCRYPTION_KEY is not a valid key/);
  });

  it("readSettingsKey reads SETTINGS_ENCRYPTION_KEY from the deployment's environment", async () => {
    vi.stubEnv("SETTINGS_ENCRYPTION_KEY", "");
    await expect(readSettingsKey()).rejects.toThrow(/SETTINGS_ENCRYPTION_KEY is not set/);
    vi.stubEnv("SETTINGS_ENCRYPTION_KEY", HEX_KEY);
    const box = await encryptSecret(await readSettingsKey(), SECRET, AAD);
    expect(await decryptSecret(await parseKey(HEX_KEY), box, AAD)).toBe(SECRET);
  });
});

describe("encryptSecret / decryptSecret", () => {
  it("round-trips a value, including empty and large ones", async () => {
    const key = await parseKey(randomBase64Key());
    for (const value of [SECRET, "", "x".repeat(64 * 1024)]) {
      const box = await encryptSecret(key, value, AAD);
      expect(await decryptSecret(key, box, AAD)).toBe(value);
    }
  });

  it("stores base64 only, a 96-bit IV, and nothing of the plaintext", async () => {
    const key = await parseKey(randomBase64Key());
    const box = await encryptSecret(key, SECRET, AAD);
    expect(Object.keys(box).sort()).toEqual(["ciphertext", "iv"]);
    expect(atob(box.iv)).toHaveLength(12);
    expect(box.ciphertext).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(JSON.stringify(box)).not.toContain("s3cr3t");
  });

  it("gives two different boxes for one value (a fresh IV each time)", async () => {
    const key = await parseKey(randomBase64Key());
    const a = await encryptSecret(key, SECRET, AAD);
    const b = await encryptSecret(key, SECRET, AAD);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it("fails with another key, without saying the value", async () => {
    const box = await encryptSecret(await parseKey(randomBase64Key()), SECRET, AAD);
    const err = await decryptSecret(await parseKey(randomBase64Key()), box, AAD).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/could not be decrypted: SETTINGS_ENCRYPTION_KEY differs/);
    expect((err as Error).message).not.toContain("s3cr3t");
  });

  it("fails when the ciphertext, its tag or the IV was altered", async () => {
    const key = await parseKey(randomBase64Key());
    const box = await encryptSecret(key, SECRET, AAD);
    const tagStart = atob(box.ciphertext).length - 16;
    for (const tampered of [
      { ...box, ciphertext: flipBit(box.ciphertext, 0) },
      { ...box, ciphertext: flipBit(box.ciphertext, tagStart) },
      { ...box, ciphertext: btoa(atob(box.ciphertext).slice(0, -1)) },
      { ...box, iv: flipBit(box.iv, 3) },
      { ...box, iv: btoa("short") },
      { ...box, ciphertext: "%%% not base64" },
    ]) {
      await expect(decryptSecret(key, tampered, AAD)).rejects.toThrow(/could not be decrypted/);
    }
  });

  it("fails when the box is moved to another repo or another variable", async () => {
    const key = await parseKey(randomBase64Key());
    const box = await encryptSecret(key, SECRET, AAD);
    await expect(decryptSecret(key, box, "repoSettings:repo2:env:DATABASE_URL")).rejects.toThrow(/repo2/);
    await expect(decryptSecret(key, box, "repoSettings:repo1:env:API_KEY")).rejects.toThrow(/could not be decrypted/);
    expect(await decryptSecret(key, box, AAD)).toBe(SECRET);
  });
});
