/**
 * The agent's image for the deploy tests, built from host-agent/Dockerfile on the local Node
 * image (no registry here) and cached by content: its tag is a hash of everything the build reads
 * (the files .dockerignore lets in, the Dockerfile, the base image's id, the build CA), so a run
 * whose inputs did not change reuses it, any change builds afresh, and a fresh machine builds it.
 * The build context is a copy of exactly those files in a temporary directory, with the CA this
 * machine's npm trusts (NODE_EXTRA_CA_CERTS) as the build CA, so nothing is written to the tree.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { docker } from "../helpers/docker.js";
import { NODE_IMAGE } from "../helpers/images.js";

const run = promisify(execFile);
export const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");
export const AGENT_IMAGE_REPO = "artie-test/host-agent";
/** The image build (apt and npm ci) takes about a minute here; ten is a broken network. */
export const IMAGE_BUILD_TIMEOUT_MS = 10 * 60_000;
const BUILD_CA = "host-agent/deploy/build-ca/extra.pem";

/** Files under `rel` (a file or a directory), repository-relative, sorted. */
async function filesOf(rel: string): Promise<string[]> {
  const abs = path.join(REPO_ROOT, rel);
  if (!(await stat(abs)).isDirectory()) return [rel];
  const entries = await readdir(abs, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(REPO_ROOT, path.join(e.parentPath, e.name)))
    .filter((f) => f !== BUILD_CA)
    .sort();
}

/** What the build reads: .dockerignore's `!` entries (it allows nothing else) and itself. */
async function contextFiles(): Promise<string[]> {
  const ignore = await readFile(path.join(REPO_ROOT, ".dockerignore"), "utf8");
  const allowed = ignore.split("\n").flatMap((l) => (l.startsWith("!") ? [l.slice(1).trim()] : []));
  const files = (await Promise.all(allowed.map(filesOf))).flat();
  return [...new Set([".dockerignore", "host-agent/Dockerfile", ...files])].sort();
}

/** The tag for the current inputs, and the build it needs when that tag is missing. */
export async function ensureAgentImage(): Promise<string> {
  const files = await contextFiles();
  const base = await docker.getImage(NODE_IMAGE).inspect();
  const ca = process.env.NODE_EXTRA_CA_CERTS ? await readFile(process.env.NODE_EXTRA_CA_CERTS) : null;
  const hash = createHash("sha256")
    .update(base.Id)
    .update(ca ?? "");
  for (const f of files)
    hash
      .update(f)
      .update("\0")
      .update(await readFile(path.join(REPO_ROOT, f)));
  const tag = `${AGENT_IMAGE_REPO}:${hash.digest("hex").slice(0, 16)}`;
  const have = await docker
    .getImage(tag)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (have) return tag;

  const context = await mkdtemp(path.join(tmpdir(), "artie-agent-image-"));
  try {
    for (const f of files) {
      await mkdir(path.dirname(path.join(context, f)), { recursive: true });
      await cp(path.join(REPO_ROOT, f), path.join(context, f));
    }
    if (ca) await cp(process.env.NODE_EXTRA_CA_CERTS!, path.join(context, BUILD_CA));
    const args = ["build", "-q", "-f", "host-agent/Dockerfile", "--build-arg", `BASE_IMAGE=${NODE_IMAGE}`];
    await run("docker", [...args, "-t", tag, context], { timeout: IMAGE_BUILD_TIMEOUT_MS, maxBuffer: 16 << 20 });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  await removeOlderAgentImages(tag);
  return tag;
}

/** Earlier builds' tags, so a machine running the tests keeps one agent image, not one per change. */
async function removeOlderAgentImages(keep: string): Promise<void> {
  const images = await docker.listImages({ filters: { reference: [`${AGENT_IMAGE_REPO}:*`] } });
  const old = images.flatMap((i) => i.RepoTags ?? []).filter((t) => t !== keep && t.startsWith(AGENT_IMAGE_REPO));
  await Promise.all(
    old.map((t) =>
      docker
        .getImage(t)
        .remove()
        .catch(() => undefined),
    ),
  );
}
