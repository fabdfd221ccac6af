// Covers src/trust/ca-bundle.ts: reading and checking EXTRA_CA_CERTS, and the two bundles it writes.
import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { rootCertificates } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXTRA_CA_MAX_BYTES } from "../../src/config.js";
import {
  BUNDLE_PEM,
  EXTRA_PEM,
  TRUST_DIR_NAME,
  TrustError,
  parseCertificates,
  readExtraCa,
  writeTrustBundle,
} from "../../src/trust/ca-bundle.js";
import { makeTestCa, type TestCa } from "../helpers/test-ca.js";

let dir: string;
let caA: TestCa;
let caB: TestCa;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "artie-ca-bundle-"));
  caA = await makeTestCa(dir, "Test CA A");
  caB = await makeTestCa(dir, "Test CA B");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const file = async (name: string, content: string | Buffer) => {
  const p = path.join(dir, name);
  await writeFile(p, content);
  return p;
};

/** The TrustError message readExtraCa gives for `p`. */
async function refusal(p: string): Promise<string> {
  const err: unknown = await readExtraCa(p).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TrustError);
  return (err as TrustError).message;
}

const subjects = (pem: string) => parseCertificates(pem, "test").map((c) => c.subject);

describe("readExtraCa", () => {
  it("reads every certificate of a bundle, text between the blocks allowed", async () => {
    const p = await file("two.pem", `# corporate CAs\n${caA.certPem}\nsome note\n${caB.certPem}`);
    const certs = await readExtraCa(p);
    expect(certs.map((c) => c.subject)).toEqual(["CN=Test CA A", "CN=Test CA B"]);
  });

  it("stops on a missing file, naming it and the setting", async () => {
    const p = path.join(dir, "nope.pem");
    const message = await refusal(p);
    expect(message).toContain(`EXTRA_CA_CERTS=${p}`);
    expect(message).toContain("does not exist");
  });

  it("stops on a directory, an empty file and one over the byte limit", async () => {
    const sub = path.join(dir, "a-dir");
    await mkdir(sub, { recursive: true });
    expect(await refusal(sub)).toContain("not a regular file");
    expect(await refusal(await file("empty.pem", "\n \n"))).toContain("is empty");
    const big = await file("big.pem", Buffer.alloc(EXTRA_CA_MAX_BYTES + 1, "a"));
    expect(await refusal(big)).toContain("larger than 1 MiB");
  });

  it("stops on a file with no certificate in it", async () => {
    expect(await refusal(await file("text.pem", "not a certificate\n"))).toContain("holds no PEM certificate");
  });

  it("refuses a private key, so none is ever handed to environments", async () => {
    const key = await readFile(caA.keyFile, "utf8");
    const message = await refusal(await file("with-key.pem", `${caA.certPem}${key}`));
    expect(message).toContain("private key");
    expect(message).toContain("block 2");
  });

  it("stops on a block that is not a certificate, or one that does not parse", async () => {
    const csr = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
    expect(await refusal(await file("csr.pem", csr))).toContain('"CERTIFICATE REQUEST"');
    const broken = caB.certPem.replace(/\n[A-Za-z0-9+/]{20}/, "\n!!!!");
    const message = await refusal(await file("broken.pem", `${caA.certPem}${broken}`));
    expect(message).toContain("certificate 2 does not parse");
  });
});

describe("writeTrustBundle", () => {
  const a = () => new X509Certificate(caA.certPem);
  const b = () => new X509Certificate(caB.certPem);

  it("writes nothing when there is nothing extra to trust", async () => {
    const data = await mkdtemp(path.join(dir, "data-"));
    expect(await writeTrustBundle(data, [])).toBeNull();
    expect(await readdir(data)).toEqual([]);
  });

  it("writes extra.pem with the extra CAs only, and bundle.pem with Node's roots plus them", async () => {
    const data = await mkdtemp(path.join(dir, "data-"));
    const bundle = (await writeTrustBundle(data, [a(), b(), a()]))!;
    expect(bundle.dir).toBe(path.join(data, TRUST_DIR_NAME));
    expect(bundle.extraFile).toBe(path.join(bundle.dir, EXTRA_PEM));
    expect(bundle.bundleFile).toBe(path.join(bundle.dir, BUNDLE_PEM));
    expect(bundle.extraCount).toBe(2); // the repeated one once
    expect(subjects(await readFile(bundle.extraFile, "utf8"))).toEqual(["CN=Test CA A", "CN=Test CA B"]);
    const full = parseCertificates(await readFile(bundle.bundleFile, "utf8"), "bundle");
    expect(full).toHaveLength(rootCertificates.length + 2);
    expect(full.slice(-2).map((c) => c.subject)).toEqual(["CN=Test CA A", "CN=Test CA B"]);
  });

  it("does not repeat a public root the operator's file also holds (a whole system bundle)", async () => {
    const data = await mkdtemp(path.join(dir, "data-"));
    const root = new X509Certificate(rootCertificates[0]!);
    const bundle = (await writeTrustBundle(data, [root, a()]))!;
    const full = parseCertificates(await readFile(bundle.bundleFile, "utf8"), "bundle");
    expect(full).toHaveLength(rootCertificates.length + 1);
  });

  it("leaves files every environment user can read (0644 in a 0755 directory), and no temp file", async () => {
    const data = await mkdtemp(path.join(dir, "data-"));
    const bundle = (await writeTrustBundle(data, [a()]))!;
    expect((await stat(bundle.dir)).mode & 0o777).toBe(0o755);
    expect((await stat(bundle.extraFile)).mode & 0o777).toBe(0o644);
    expect((await stat(bundle.bundleFile)).mode & 0o777).toBe(0o644);
    // Written again (the agent's next start) with other certificates: replaced, nothing left over.
    await writeTrustBundle(data, [b()]);
    expect((await readdir(bundle.dir)).sort()).toEqual([BUNDLE_PEM, EXTRA_PEM]);
    expect(subjects(await readFile(bundle.extraFile, "utf8"))).toEqual(["CN=Test CA B"]);
  });
});
