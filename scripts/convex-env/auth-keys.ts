/**
 * Convex Auth's signing keys, made the way `npx @convex-dev/auth` makes them: an RS256 key pair,
 * the private key as PKCS#8 PEM with its newlines turned into spaces (a Convex environment value
 * is one line), and the public key as a JWKS with `use: "sig"`. Node's own crypto does the work;
 * jose (what Convex Auth uses) reads the result, which the tests check.
 */
import { generateKeyPairSync } from "node:crypto";

export type AuthKeys = { JWT_PRIVATE_KEY: string; JWKS: string };

export function generateAuthKeys(): AuthKeys {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 0x10001 });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const { kty, n, e } = publicKey.export({ format: "jwk" });
  return {
    JWT_PRIVATE_KEY: pem.trimEnd().replace(/\n/g, " "),
    JWKS: JSON.stringify({ keys: [{ use: "sig", kty, n, e }] }),
  };
}
