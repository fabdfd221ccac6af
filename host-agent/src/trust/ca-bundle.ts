/**
 * The certificates environments trust beyond their image's own store: the operator's
 * EXTRA_CA_CERTS (a TLS-inspecting proxy's CA, a private registry's) and the egress proxy's CA
 * when it terminates TLS to inject credentials. Read and checked once at start-up; a file that is
 * missing, unreadable, empty, too large, holds a private key or a block that is not a certificate
 * stops the agent with a message naming the file and what to do. Then written under
 * DATA_DIR/ca-trust as two files, atomically (temp file + rename) and world-readable (0644, the
 * directory 0755) because every environment's user reads them through a read-only mount:
 *
 *   extra.pem   the extra certificates only, for settings that add to a tool's own roots
 *               (NODE_EXTRA_CA_CERTS);
 *   bundle.pem  Node's public roots (tls.rootCertificates) plus extra.pem, for settings that
 *               replace a tool's roots (SSL_CERT_FILE, GIT_SSL_CAINFO, npm's cafile).
 *
 * Leaves out: which variable each tool reads and where the files are mounted (container-spec.ts),
 * and the images' own trust stores, which are never changed. Only certificates are written: the
 * operator's file is re-encoded from what parsed, so nothing else in it can reach an environment.
 */
import { X509Certificate } from "node:crypto";
import { chmod, mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { rootCertificates } from "node:tls";
import { EXTRA_CA_MAX_BYTES } from "../config.js";
import { formatBytes } from "../lib/bounded-reader.js";

/** Under DATA_DIR: the directory mounted into environments, and its two files. */
export const TRUST_DIR_NAME = "ca-trust";
export const EXTRA_PEM = "extra.pem";
export const BUNDLE_PEM = "bundle.pem";

/** Host paths of the written bundles; container-spec.ts mounts `dir`. */
export type TrustBundle = { dir: string; extraFile: string; bundleFile: string; extraCount: number };

/** A problem with EXTRA_CA_CERTS (or another PEM input): its message is the operator's to read. */
export class TrustError extends Error {}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * Every certificate in a PEM text. Text between blocks (comments, a bundle's headers) is allowed;
 * a block that is not a certificate, or one that does not parse, is an error naming its position.
 */
export function parseCertificates(text: string, source: string): X509Certificate[] {
  const certs: X509Certificate[] = [];
  let index = 0;
  for (const [block, label] of text.matchAll(PEM_BLOCK)) {
    index++;
    if (label!.includes("PRIVATE KEY"))
      throw new TrustError(
        `${source} holds a private key (block ${index}): give a file of CA certificates only; a key must never be handed to environments`,
      );
    if (label !== "CERTIFICATE")
      throw new TrustError(
        `${source}: block ${index} is "${label}", not "CERTIFICATE"; convert it (openssl x509 -in <file> -out <file>.pem)`,
      );
    try {
      certs.push(new X509Certificate(block));
    } catch (err) {
      throw new TrustError(
        `${source}: certificate ${index} does not parse (${(err as Error).message}); fix or remove it`,
      );
    }
  }
  if (certs.length === 0)
    throw new TrustError(
      `${source} holds no PEM certificate ("-----BEGIN CERTIFICATE-----"); point EXTRA_CA_CERTS at a PEM bundle of CA certificates`,
    );
  return certs;
}

/** Reads and parses the operator's EXTRA_CA_CERTS file, at most EXTRA_CA_MAX_BYTES. */
export async function readExtraCa(file: string): Promise<X509Certificate[]> {
  const what = `EXTRA_CA_CERTS=${file}`;
  const handle = await open(file, "r").catch((err: NodeJS.ErrnoException) => {
    const why =
      err.code === "ENOENT"
        ? "does not exist"
        : err.code === "EACCES"
          ? "cannot be read by the agent's user (check its permissions)"
          : `cannot be opened (${err.message})`;
    throw new TrustError(`${what} ${why}; point it at a PEM bundle of CA certificates on this host, or unset it`);
  });
  let text: string;
  try {
    const st = await handle.stat();
    if (!st.isFile())
      throw new TrustError(`${what} is not a regular file; point it at a PEM bundle of CA certificates`);
    // One byte more than the limit tells "too large" apart from "exactly the limit".
    const buf = Buffer.alloc(EXTRA_CA_MAX_BYTES + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0).catch((err: Error) => {
      throw new TrustError(`${what} cannot be read (${err.message})`);
    });
    if (bytesRead > EXTRA_CA_MAX_BYTES)
      throw new TrustError(
        `${what} is larger than ${formatBytes(EXTRA_CA_MAX_BYTES)}; give only the CA certificates environments need`,
      );
    text = buf.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
  if (text.trim() === "") throw new TrustError(`${what} is empty; put the CA certificates in it (PEM), or unset it`);
  return parseCertificates(text, what);
}

const pemOf = (certs: X509Certificate[]) => certs.map((c) => c.toString().trim()).join("\n") + "\n";

/** Certificates with duplicates (same SHA-256 fingerprint) dropped, first one kept. */
function unique(certs: X509Certificate[]): X509Certificate[] {
  const byPrint = new Map<string, X509Certificate>();
  for (const c of certs) if (!byPrint.has(c.fingerprint256)) byPrint.set(c.fingerprint256, c);
  return [...byPrint.values()];
}

/** Writes `file` so that a reader sees the old content or the new, never half of it. */
async function writeAtomic(file: string, content: string): Promise<void> {
  const temp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(temp, content, { mode: 0o644 });
    await chmod(temp, 0o644); // the umask may have taken bits off
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Writes extra.pem and bundle.pem under DATA_DIR/ca-trust; null (and nothing written) when there
 * is nothing extra to trust, so hosts without EXTRA_CA_CERTS or interception see no change.
 */
export async function writeTrustBundle(dataDir: string, extra: X509Certificate[]): Promise<TrustBundle | null> {
  const certs = unique(extra);
  if (certs.length === 0) return null;
  const dir = path.join(dataDir, TRUST_DIR_NAME);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(dir, 0o755);
  const roots = rootCertificates.map((pem) => new X509Certificate(pem));
  const rootPrints = new Set(roots.map((c) => c.fingerprint256));
  const extraFile = path.join(dir, EXTRA_PEM);
  const bundleFile = path.join(dir, BUNDLE_PEM);
  await writeAtomic(extraFile, pemOf(certs));
  await writeAtomic(bundleFile, pemOf([...roots, ...certs.filter((c) => !rootPrints.has(c.fingerprint256))]));
  return { dir, extraFile, bundleFile, extraCount: certs.length };
}
