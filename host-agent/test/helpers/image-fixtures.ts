/**
 * Images for maintenance and pre-pull tests, made from the local busybox test image without a
 * registry or a build: `docker save` it, rewrite its config (labels, and the `created` time the
 * engine then reports as the image's Created, which the sweep reads), and `docker load` it again
 * under a tag, or none (a dangling image). The layers are busybox's own, so this costs no disk.
 * `imageParts` gives the config and layers as a registry would serve them (test/helpers/registry.ts).
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { gzipSync } from "node:zlib";
import { extract, pack } from "tar-fs";
import { z } from "zod";
import { docker } from "./docker.js";
import { BUSYBOX_IMAGE } from "./images.js";

const Manifest = z.array(z.object({ Config: z.string(), Layers: z.array(z.string()) }));
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** The saved busybox image unpacked in a temp dir (removed by `dispose`). */
async function savedBase() {
  const dir = await mkdtemp(path.join(tmpdir(), "artie-test-image-"));
  await pipeline(await docker.getImage(BUSYBOX_IMAGE).get(), extract(dir));
  const [entry] = Manifest.parse(JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")));
  const config = JSON.parse(await readFile(path.join(dir, entry!.Config), "utf8")) as Record<string, unknown> & {
    config?: { Labels?: Record<string, string> | null };
  };
  return { dir, entry: entry!, config, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Loads a busybox image with `labels`, created at `created`, tagged `tag` (or untagged when
 * null). Answers its image id (`sha256:...`).
 */
export async function loadImage(o: { tag: string | null; labels: Record<string, string>; created: Date }) {
  const base = await savedBase();
  try {
    const config = {
      ...base.config,
      created: o.created.toISOString(),
      config: { ...base.config.config, Labels: { ...(base.config.config?.Labels ?? {}), ...o.labels } },
    };
    const text = JSON.stringify(config);
    const id = sha256(text);
    await writeFile(path.join(base.dir, `${id}.json`), text);
    await rm(path.join(base.dir, base.entry.Config));
    await rm(path.join(base.dir, "repositories"), { force: true });
    const manifest = [{ Config: `${id}.json`, RepoTags: o.tag ? [o.tag] : null, Layers: base.entry.Layers }];
    await writeFile(path.join(base.dir, "manifest.json"), JSON.stringify(manifest));
    const stream = await docker.loadImage(pack(base.dir));
    // The load's answer is a progress stream; it must be read to its end.
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())),
    );
    return `sha256:${id}`;
  } finally {
    await base.dispose();
  }
}

export type Blob = { digest: string; bytes: Buffer; mediaType: string };

/** Busybox as a registry serves it: a schema 2 manifest, its config and its gzipped layers. */
export async function imageParts(): Promise<{ manifest: Buffer; blobs: Map<string, Blob> }> {
  const base = await savedBase();
  try {
    const blobs = new Map<string, Blob>();
    const add = (bytes: Buffer, mediaType: string) => {
      const blob = { digest: `sha256:${sha256(bytes)}`, bytes, mediaType };
      blobs.set(blob.digest, blob);
      return { mediaType, size: bytes.length, digest: blob.digest };
    };
    const config = add(
      await readFile(path.join(base.dir, base.entry.Config)),
      "application/vnd.docker.container.image.v1+json",
    );
    const layers = [];
    for (const layer of base.entry.Layers)
      layers.push(
        add(gzipSync(await readFile(path.join(base.dir, layer))), "application/vnd.docker.image.rootfs.diff.tar.gzip"),
      );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        config,
        layers,
      }),
    );
    return { manifest, blobs };
  } finally {
    await base.dispose();
  }
}

/** Removes images by id or tag, ignoring ones already gone. */
export async function removeImages(refs: string[]): Promise<void> {
  for (const ref of refs)
    await docker
      .getImage(ref)
      .remove({ force: true })
      .catch(() => undefined);
}
