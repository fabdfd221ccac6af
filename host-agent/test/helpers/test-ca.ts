/**
 * A throwaway certificate authority made with the host's openssl, for tests of what trusts it:
 * the CA itself and server certificates it signs (127.0.0.1 and localhost unless told). EC P-256 keys,
 * so making one takes milliseconds. Everything lives in the caller's directory.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const OPENSSL_TIMEOUT_MS = 30_000;
const openssl = (args: string[]) => run("openssl", args, { timeout: OPENSSL_TIMEOUT_MS });

export type TestCa = { dir: string; name: string; certFile: string; keyFile: string; certPem: string };
export type ServerCert = { certFile: string; keyFile: string; cert: string; key: string };

export async function makeTestCa(dir: string, name = "Artie test CA"): Promise<TestCa> {
  const slug = name.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase();
  const certFile = path.join(dir, `${slug}.pem`);
  const keyFile = path.join(dir, `${slug}.key`);
  await openssl([
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-sha256",
    "-days", "2", "-keyout", keyFile, "-out", certFile, "-subj", `/CN=${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]); // prettier-ignore
  return { dir, name, certFile, keyFile, certPem: await readFile(certFile, "utf8") };
}

/** A server certificate signed by `ca`, for the given subjectAltName (127.0.0.1 and localhost by default). */
export async function issueServerCert(
  ca: TestCa,
  basename = "server",
  altNames = "IP:127.0.0.1,DNS:localhost",
): Promise<ServerCert> {
  const [keyFile, csr, certFile, ext] = ["key", "csr", "pem", "ext"].map((e) =>
    path.join(ca.dir, `${basename}.${e}`),
  ) as [string, string, string, string];
  await writeFile(
    ext,
    `subjectAltName=${altNames}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  await openssl([
    "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyFile, "-out", csr, "-subj", "/CN=localhost",
  ]); // prettier-ignore
  await openssl([
    "x509", "-req", "-sha256", "-days", "2", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile,
    "-CAcreateserial", "-extfile", ext, "-out", certFile,
  ]); // prettier-ignore
  return { certFile, keyFile, cert: await readFile(certFile, "utf8"), key: await readFile(keyFile, "utf8") };
}
