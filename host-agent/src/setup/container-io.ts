/**
 * What setup does inside a container, through exec only (so it works with a remote engine too):
 * run a command with its output both collected and written, prefixed by phase, to the
 * container's own log stream (PID 1's stdout, which `docker logs` and the SSE route read);
 * stream a host directory in as a tar; stream a container directory out as a tar.
 * Only fixed scripts run in a shell; caller argv arrives as positional parameters.
 */
import { Writable, type Duplex } from "node:stream";
import { finished } from "node:stream/promises";
import { pack } from "tar-fs";
import type { DockerClient } from "../docker/client.js";

/**
 * `sh -c LOGGED phase argv...`: runs argv, prefixes each output line with `[phase] `, writes it
 * to the container log (fd 3 = PID 1's stdout) and to its own stdout, and exits with argv's
 * status (carried through the pipe as a marker line, since POSIX sh has no pipefail).
 */
const LOGGED = [
  'phase="$0"; exec 3>/proc/1/fd/1',
  '( "$@" 2>&1; echo "__artie_exit=$?" ) | while IFS= read -r l; do case "$l" in __artie_exit=*) exit "${l#__artie_exit=}";; esac',
  'printf "[%s] %s\\n" "$phase" "$l" >&3; printf "[%s] %s\\n" "$phase" "$l"; done',
].join("; ");

/** Appends lines to the container log. */
const WRITE_LOG = 'exec 3>/proc/1/fd/1; for l in "$@"; do printf "%s\\n" "$l" >&3; done';

export type RunResult = { exitCode: number | null; lines: string[] };

/** Keeps the last `max` lines of a stream of text chunks. */
export class LineTail {
  private partial = "";
  readonly lines: string[] = [];
  constructor(private readonly max: number) {}

  push(chunk: string) {
    const parts = (this.partial + chunk).split("\n");
    this.partial = parts.pop() ?? "";
    for (const p of parts) {
      this.lines.push(p);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }
}

export class ContainerIO {
  constructor(
    private readonly docker: DockerClient,
    private readonly user: string,
  ) {}

  async writeLog(dockerId: string, lines: string[]): Promise<void> {
    const { stream } = await this.docker.exec(dockerId, {
      cmd: ["sh", "-c", WRITE_LOG, "sh", ...lines],
      user: this.user,
      tty: false,
      stdin: false,
    });
    await drain(stream);
  }

  /**
   * Starts argv under LOGGED. `onLine` sees each prefixed line; the returned promise resolves
   * with the exit code when the process ends (kept separate so a dev server can outlive it).
   */
  async startLogged(
    dockerId: string,
    phase: string,
    argv: string[],
    o: { env?: string[]; workdir?: string; tail: LineTail },
  ): Promise<{ done: Promise<number | null> }> {
    const { exec, stream } = await this.docker.exec(dockerId, {
      cmd: ["sh", "-c", LOGGED, phase, ...argv],
      user: this.user,
      env: o.env,
      workdir: o.workdir,
      tty: false,
      stdin: false,
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        o.tail.push(chunk.toString("utf8"));
        cb();
      },
    });
    this.docker.demux(stream, sink, sink);
    const done = drain(stream).then(async () => (await exec.inspect()).ExitCode ?? null);
    return { done };
  }

  async run(dockerId: string, phase: string, argv: string[], o: { env?: string[]; workdir?: string; tail: LineTail }) {
    const { done } = await this.startLogged(dockerId, phase, argv, o);
    return done;
  }

  /** Runs a short command and returns its stdout (no logging); null on a non-zero exit. */
  async capture(dockerId: string, argv: string[]): Promise<string | null> {
    const { exec, stream } = await this.docker.exec(dockerId, { cmd: argv, user: this.user, tty: false, stdin: false });
    let out = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString("utf8");
        cb();
      },
    });
    this.docker.demux(stream, sink, discard());
    await drain(stream);
    const { ExitCode } = await exec.inspect();
    return ExitCode === 0 ? out : null;
  }

  /** Streams a host directory into `target` (which must exist and be writable by the user). */
  async putDirectory(dockerId: string, dir: string, target: string): Promise<void> {
    const { exec, stream } = await this.docker.exec(dockerId, {
      cmd: ["tar", "-x", "-f", "-", "-C", target],
      user: this.user,
      tty: false,
      stdin: true,
    });
    let errors = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        errors += chunk.toString("utf8");
        cb();
      },
    });
    this.docker.demux(stream, sink, sink);
    const source = pack(dir);
    source.pipe(stream);
    await drain(stream);
    const { ExitCode } = await exec.inspect();
    if (ExitCode !== 0) throw new Error(`copying the checkout into the container failed: ${errors.trim().slice(-500)}`);
  }

  /** A container directory as a tar stream (raw exec stdout, demultiplexed). */
  async getDirectory(dockerId: string, dir: string, into: NodeJS.WritableStream): Promise<void> {
    const { exec, stream } = await this.docker.exec(dockerId, {
      cmd: ["tar", "-c", "-f", "-", "-C", dir, "."],
      user: this.user,
      tty: false,
      stdin: false,
    });
    // The destination's own errors (e.g. a failed extract) must fail this call, and it must have
    // flushed everything before the caller uses what it wrote.
    const written = finished(into);
    this.docker.demux(stream, into, discard());
    await drain(stream);
    into.end();
    await written;
    const { ExitCode } = await exec.inspect();
    if (ExitCode !== 0) throw new Error(`reading ${dir} from the container failed (tar exit ${ExitCode})`);
  }
}

const discard = () => new Writable({ write: (_c, _e, cb) => cb() });

export function drain(stream: Duplex): Promise<void> {
  return new Promise<void>((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
}
