/**
 * The certificate authority the egress proxy signs with when it terminates TLS to inject a
 * credential (EGRESS_CREDENTIALS). Made once with the host's openssl and kept under
 * DATA_DIR/egress-ca (key mode 0600, never leaves the host); its certificate joins the extra CAs
 * every environment trusts (trust/ca-bundle.ts), so a container trusts the proxy for exactly the
 * hosts it intercepts. One leaf certificate per intercepted host, made on first use and cached.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const OPENSSL_TIMEOUT_MS = 30_000;

export type KeyPair = { key: string; cert: string };

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: OPENSSL_TIMEOUT_MS });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    const why =
      e.code === "ENOENT"
        ? "openssl is not installed (apt-get install openssl); EGRESS_CREDENTIALS needs it"
        : `openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`;
    throw new Error(why, { cause: err });
  }
}

export class LocalCa {
  private readonly leaves = new Map<string, Promise<KeyPair>>();

  private constructor(
    readonly certPath: string,
    private readonly keyPath: string,
  ) {}

  /** Loads the CA from `dir`, making it on first use. */
  static async open(dir: string): Promise<LocalCa> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const certPath = path.join(dir, "ca.pem");
    const keyPath = path.join(dir, "ca.key");
    if (!existsSync(certPath) || !existsSync(keyPath)) {
      await openssl([
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
        "-keyout", keyPath, "-out", certPath,
        "-subj", "/CN=Artie egress proxy CA",
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
      ]); // prettier-ignore
      await chmod(keyPath, 0o600);
      await chmod(certPath, 0o644);
    }
    return new LocalCa(certPath, keyPath);
  }

  certificate(): Promise<string> {
    return readFile(this.certPath, "utf8");
  }

  /** A certificate for `host` signed by this CA (host names only: the allowlist grammar). */
  leaf(host: string): Promise<KeyPair> {
    let pending = this.leaves.get(host);
    if (!pending) {
      pending = this.makeLeaf(host);
      this.leaves.set(host, pending);
      pending.catch(() => this.leaves.delete(host));
    }
    return pending;
  }

  private async makeLeaf(host: string): Promise<KeyPair> {
    const dir = await mkdtemp(path.join(tmpdir(), "artie-leaf-"));
    try {
      const [key, csr, cert, ext] = ["leaf.key", "leaf.csr", "leaf.pem", "leaf.ext"].map((f) => path.join(dir, f)) as [
        string,
        string,
        string,
        string,
      ];
      await writeFile(
        ext,
        `subjectAltName=DNS:${host}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
      );
      await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${host}`]);
      await openssl([
        "x509", "-req", "-sha256", "-days", "397", "-in", csr,
        "-CA", this.certPath, "-CAkey", this.keyPath,
        "-set_serial", `0x${randomBytes(16).toString("hex")}`,
        "-extfile", ext, "-out", cert,
      ]); // prettier-ignore
      return { key: await readFile(key, "utf8"), cert: await readFile(cert, "utf8") };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
