/**
 * Runs one command in a container and collects its output, with a deadline that really ends it:
 * the exec is tagged (see exec-tag.ts), so on timeout the command and everything it started are
 * killed, e.g. a timed-out `sh -c 'sleep 100 & sleep 100'` leaves nothing behind. An argv goes
 * to Docker as is: no shell in between, one exec like a raw `docker exec`; a string (the seed's
 * form) is run by `sh -c`, which the caller asked for.
 */
import type { ExecCommand, ExecResponse } from "../api/contract.js";
import { EXEC_KILL_GRACE_MS } from "../config.js";
import type { DockerClient } from "../docker/client.js";
import { BoundedCollector } from "../lib/bounded-reader.js";
import { killTagged, newExecTag, tagEnv } from "./exec-tag.js";

export type ExecInput = { command: ExecCommand; timeout: number; workdir?: string; env?: Record<string, string> };

/** The argv Docker runs: an array as is, the seed's string form through `sh -c`. */
function execArgv(command: ExecCommand): string[] {
  return typeof command === "string" ? ["sh", "-c", command] : command;
}

export class ExecRunner {
  constructor(
    private readonly docker: DockerClient,
    private readonly user: string,
    private readonly outputLimit: number,
  ) {}

  async run(dockerId: string, input: ExecInput): Promise<ExecResponse> {
    const started = Date.now();
    const tag = newExecTag();
    const { exec, stream } = await this.docker.exec(dockerId, {
      cmd: execArgv(input.command),
      user: this.user,
      workdir: input.workdir,
      env: [...Object.entries(input.env ?? {}).map(([k, v]) => `${k}=${v}`), tagEnv(tag)],
      tty: false,
      stdin: false,
    });
    const stdout = new BoundedCollector(this.outputLimit);
    const stderr = new BoundedCollector(this.outputLimit);
    this.docker.demux(stream, stdout, stderr);
    const ended = new Promise<void>((resolve) => {
      stream.once("end", resolve);
      stream.once("close", resolve);
      stream.once("error", () => resolve());
    });

    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      ended.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), input.timeout))),
    ]);
    clearTimeout(timer);

    if (timedOut) {
      // A container that stopped meanwhile (its sandbox ended) has nothing left to kill.
      await killTagged(this.docker, dockerId, this.user, tag).catch(() => undefined);
      await Promise.race([ended, new Promise((r) => setTimeout(r, EXEC_KILL_GRACE_MS))]);
      stream.destroy();
    }
    // Docker forgets the exec of a container whose sandbox ended: no exit code to report then.
    const info = await exec.inspect().catch(() => null);
    return {
      exitCode: !info || info.Running ? null : info.ExitCode,
      stdout: stdout.text(),
      stderr: stderr.text(),
      timedOut,
      truncated: stdout.truncated || stderr.truncated,
      durationMs: Date.now() - started,
    };
  }
}
