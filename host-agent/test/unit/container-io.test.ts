// Covers src/setup/container-io.ts without an engine: the prefixer script's quoting, and
// putDirectory folding a tar pack error into its result (a fake exec stream stands in for Docker).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Duplex } from "node:stream";
import type Docker from "dockerode";
import { expect, it, onTestFinished } from "vitest";
import { DockerClient, type ExecOptions } from "../../src/docker/client.js";
import { createLogger } from "../../src/lib/logger.js";
import { ContainerIO, PREFIXER } from "../../src/setup/container-io.js";

it("PREFIXER holds no single quote (it would end LOGGED's quoting)", () => {
  expect(PREFIXER).not.toContain("'");
  expect(PREFIXER.length).toBeGreaterThan(100);
});

/** An engine whose exec swallows stdin like `tar -x` and exits 0 when stdin ends. */
class SinkDocker extends DockerClient {
  received = 0;
  constructor() {
    super(createLogger("silent"));
  }
  override exec(_id: string, _o: ExecOptions): Promise<{ exec: Docker.Exec; stream: Duplex }> {
    const stream = new Duplex({
      read() {},
      write: (chunk: Buffer, _e, cb) => {
        this.received += chunk.length;
        cb();
      },
      final(cb) {
        this.push(null);
        cb();
      },
    });
    const exec = { inspect: () => Promise.resolve({ Running: false, ExitCode: 0 }) } as unknown as Docker.Exec;
    return Promise.resolve({ exec, stream });
  }
  override demux(stream: NodeJS.ReadableStream): void {
    stream.resume();
  }
}

it("putDirectory sends a directory, and a pack error fails the call instead of going unheard", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "put-dir-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, "a.txt"), "hello");
  const docker = new SinkDocker();
  const io = new ContainerIO(docker, "1000:1000");
  await io.putDirectory("c1", dir, "/app");
  expect(docker.received).toBeGreaterThan(512);

  await expect(io.putDirectory("c1", path.join(dir, "missing"), "/app")).rejects.toThrow(
    /copying the checkout into the container failed: .*ENOENT/,
  );
});
