/**
 * What setup does inside a container, through exec only (so it works with a remote engine too):
 * run a command with its output both collected and written, prefixed by phase, to the
 * container's own log stream (PID 1's stdout, which `docker logs` and the SSE route read);
 * stream a host directory in as a tar; stream a container directory out onto the host.
 * Only fixed scripts run in a shell; caller argv arrives as positional parameters.
 * Everything read back is hostile and goes through lib/bounded-reader.ts: bounded in bytes and
 * in time, lines cut at OUTPUT_LINE_MAX_BYTES.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { Writable, type Duplex } from "node:stream";
import { pipeline } from "node:stream/promises";
import type Docker from "dockerode";
import { extract, pack, type Headers } from "tar-fs";
import {
  DIRECTORY_COPY_TIMEOUT_MS,
  EXEC_ERROR_TEXT_MAX_BYTES,
  EXEC_EXIT_WAIT_MS,
  OUTPUT_LINE_MAX_BYTES,
  PATHS_PER_COMMAND_BYTES,
  SHORT_EXEC_TIMEOUT_MS,
} from "../config.js";
import type { DockerClient } from "../docker/client.js";
import { byteBatches } from "../lib/byte-batches.js";
import { BoundedCollector, ByteLimit, LineCutter, cutMarker, endWithin } from "../lib/bounded-reader.js";

/**
 * The line prefixer LOGGED runs in the container (node is in every environment image: installs
 * and dev servers need it). It reads in blocks, cuts a line at `max` bytes with a marker and drops
 * the rest up to its newline, and after each block writes every line that block completed in one
 * write per destination (so a line is out as soon as it is read, and a burst costs two writes per
 * block, not two per line), to the container log (fd 3) and to stdout (the agent). A stdout that
 * went away (agent restarted) only stops the second copy. No single quote in it: it sits in single
 * quotes in LOGGED.
 */
export const PREFIXER = [
  'const fs=require("fs"),p=Buffer.from("["+process.argv[1]+"] "),M=Number(process.argv[2]),K=Buffer.from(process.argv[3]);',
  "const NL=Buffer.from([10]),b=Buffer.alloc(65536);let parts=[],size=0,cut=false,out=true,q=[];",
  "function w(fd,x){let o=0;while(o<x.length)o+=fs.writeSync(fd,x,o)}",
  "function emit(){q.push(p,...parts);if(cut)q.push(K);q.push(NL);parts=[];size=0;cut=false}",
  "function flush(){if(!q.length)return;const l=Buffer.concat(q);q=[];try{w(3,l)}catch{}if(out)try{w(1,l)}catch{out=false}}",
  "function take(x){if(cut||!x.length)return;const r=M-size;if(x.length>r)cut=true;const k=Buffer.from(x.subarray(0,r));parts.push(k);size+=k.length}",
  'for(;;){let n;try{n=fs.readSync(0,b)}catch(e){if(e.code==="EAGAIN"){flush();Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,10);continue}break}',
  "if(!n)break;let x=b.subarray(0,n);for(let i=x.indexOf(10);i>=0;i=x.indexOf(10)){take(x.subarray(0,i));emit();x=x.subarray(i+1)}take(x);flush()}",
  "if(size||cut)emit();flush();",
].join("");

/**
 * `sh -c LOGGED phase max marker argv...`: argv's output goes through a FIFO to a prefixer that
 * writes each line, prefixed `[phase] `, to the container log (fd 3 = PID 1's stdout) and to its
 * own stdout (the exec's, read by the agent); the prefixer lives in the container, so a dev
 * server's log keeps flowing when the agent restarts. The shell then `exec`s argv itself, so the
 * exec's own process IS the command and Docker's ExitCode for the exec is the command's status.
 * Nothing the command prints can change that: the status never travels in the output (an
 * `__artie_exit=` line used to, and printing one ended the loop with any status it named). A
 * process can at most kill the command, which fails it. Without node the prefixer is a shell
 * loop (lines then uncut in the container; the agent still cuts its copy). When the agent stops
 * reading (LoggedRun.stop, or a restart) Docker drains the exec's stdout itself; should an engine
 * close it instead, the prefixer ignores SIGPIPE (`trap '' PIPE`; node ignores it already) and
 * its failed writes to stdout, and keeps writing the container log.
 */
const LOGGED = [
  'phase="$0"; max="$1"; mark="$2"; shift 2; exec 3>/proc/1/fd/1',
  `P='${PREFIXER}'`,
  'd=$(mktemp -d) && mkfifo "$d/p" || { printf "[%s] could not make a FIFO in the temp dir\\n" "$phase" | tee /dev/fd/3; exit 125; }',
  '{ trap \'\' PIPE; rm -rf "$d"; if command -v node >/dev/null 2>&1; then NODE_OPTIONS= exec node -e "$P" "$phase" "$max" "$mark"; fi',
  'while IFS= read -r l || [ -n "$l" ]; do printf "[%s] %s\\n" "$phase" "$l" >&3; printf "[%s] %s\\n" "$phase" "$l" 2>/dev/null; done; } <"$d/p" &',
  'exec "$@" 3>&- >"$d/p" 2>&1',
].join("\n");

/** Appends lines to the container log. */
const WRITE_LOG = 'exec 3>/proc/1/fd/1; for l in "$@"; do printf "%s\\n" "$l" >&3; done';

/** Keeps the last `max` lines of a stream of output, each at most OUTPUT_LINE_MAX_BYTES. */
export class LineTail {
  readonly lines: string[] = [];
  private readonly cutter: LineCutter;

  constructor(
    private readonly max: number,
    lineMaxBytes = OUTPUT_LINE_MAX_BYTES,
  ) {
    this.cutter = new LineCutter(lineMaxBytes, (line) => {
      this.lines.push(line);
      if (this.lines.length > this.max) this.lines.shift();
    });
  }

  push(chunk: Buffer | string) {
    this.cutter.push(chunk);
  }
}

export type LoggedRun = {
  /** Docker's id of the exec, whose `exec_die` event and inspect say when and how it ended. */
  execId: string;
  /** The command's exit status from Docker; null when Docker no longer knows it, or after stop. */
  done: Promise<number | null>;
  /**
   * Stops reading: the exec stream is destroyed, so the agent spends nothing more on the output.
   * The command and its prefixer go on (Docker keeps draining a detached exec's output), and the
   * prefixer still writes the container log. Ending the processes is the caller's, by tag.
   */
  stop: () => void;
};

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
    stream.resume();
    await endWithin(stream, SHORT_EXEC_TIMEOUT_MS, "writing to the container log");
  }

  /**
   * Starts argv under LOGGED. The tail sees each prefixed line; `done` resolves with the exit
   * code when the process ends (kept separate so a dev server can outlive the call).
   */
  async startLogged(
    dockerId: string,
    phase: string,
    argv: string[],
    o: { env?: string[]; workdir?: string; tail: LineTail },
  ): Promise<LoggedRun> {
    const { exec, stream } = await this.docker.exec(dockerId, {
      cmd: ["sh", "-c", LOGGED, phase, String(OUTPUT_LINE_MAX_BYTES), cutMarker(OUTPUT_LINE_MAX_BYTES), ...argv],
      user: this.user,
      env: o.env,
      workdir: o.workdir,
      tty: false,
      stdin: false,
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        o.tail.push(chunk);
        cb();
      },
    });
    this.docker.demux(stream, sink, sink);
    let stopped = false;
    // After a stop nobody waits for the status: answer null at once instead of polling Docker.
    const done = drain(stream).then(() => (stopped ? null : exitCode(exec)));
    const stop = () => {
      stopped = true;
      stream.destroy();
    };
    return { execId: exec.id, done, stop };
  }

  /** Runs argv under LOGGED and answers its exit code; past `timeoutMs` stops reading and throws. */
  async run(
    dockerId: string,
    phase: string,
    argv: string[],
    o: { env?: string[]; workdir?: string; tail: LineTail; timeoutMs: number; what: string },
  ): Promise<number | null> {
    const { done, stop } = await this.startLogged(dockerId, phase, argv, o);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stop();
        reject(new Error(`timed out after ${Math.round(o.timeoutMs / 1000)} s ${o.what}`));
      }, o.timeoutMs);
    });
    return Promise.race([done, late]).finally(() => clearTimeout(timer));
  }

  /**
   * Streams a host directory into `target` (which must exist and be writable by the user); with
   * `entries`, only those paths of it (relative to `dir`; a directory brings what it holds).
   */
  async putDirectory(dockerId: string, dir: string, target: string, entries?: string[]): Promise<void> {
    const { exec, stream } = await this.docker.exec(dockerId, {
      cmd: ["tar", "-x", "-f", "-", "-C", target],
      user: this.user,
      tty: false,
      stdin: true,
    });
    const errors = new BoundedCollector(EXEC_ERROR_TEXT_MAX_BYTES);
    this.docker.demux(stream, errors, errors);
    const what = "copying the checkout into the container";
    // pipeline, not pipe: a pack error (a file gone or unreadable) or a write error on the exec
    // stream fails the copy instead of going unheard. Ending the exec's stdin is the tar's EOF;
    // the stream itself stays open until the container's tar exits, which endWithin waits for.
    const source = pack(dir, entries ? { entries } : {});
    const sent = pipeline(source, stream, { end: true });
    const ended = endWithin(stream, DIRECTORY_COPY_TIMEOUT_MS, what);
    try {
      await Promise.all([sent, ended]);
    } catch (err) {
      source.destroy();
      stream.destroy();
      // The container's tar says why it stopped reading, when it did; else the stream's error.
      const why = errors.text().trim().slice(-500) || (err instanceof Error ? err.message : String(err));
      throw new Error(`${what} failed: ${why}`, { cause: err });
    }
    const code = await exitCode(exec);
    if (code !== 0) throw new Error(`${what} failed: ${errors.text().trim().slice(-500)}`);
  }

  /**
   * Copies a container directory onto the host directory `into` (which must exist): the
   * container's tar stream, at most `maxBytes` of it and within DIRECTORY_COPY_TIMEOUT_MS, is
   * extracted keeping only plain files, directories, symlinks that stay inside `into` and hard
   * links to files this copy already wrote (pnpm and bun link packages from their store; devices,
   * FIFOs, other links and escaping links are skipped). tar-fs 3.1 refuses escaping links and
   * writing through existing ones itself; skipping them first means one stray link costs that
   * link, not the whole copy. `exclude` names a top-level entry of `dir` left out: by tar when
   * it is GNU tar (busybox's has no --exclude), and removed from `into` after the copy in any
   * case.
   */
  async getDirectory(
    dockerId: string,
    dir: string,
    into: string,
    o: { maxBytes: number; exclude?: string },
  ): Promise<void> {
    const cmd = o.exclude
      ? ["sh", "-c", TAR_EXCLUDING, "tar", dir, o.exclude]
      : ["tar", "-c", "-f", "-", "-C", dir, "."];
    await this.readTar(dockerId, cmd, dir, into, o.maxBytes);
    if (o.exclude) await rm(path.join(into, path.basename(o.exclude)), { recursive: true, force: true });
  }

  /**
   * Copies the named paths under the container directory `dir` (relative, each a file or a
   * link) onto the host directory `into`, as getDirectory copies and bounded alike; a path the
   * container does not have is simply missing from `into`. No path is ever taken for an option
   * (each goes as `./<path>`).
   */
  async getPaths(dockerId: string, dir: string, paths: string[], into: string, maxBytes: number): Promise<void> {
    if (paths.length === 0) return;
    const cmd = ["sh", "-c", TAR_EXISTING, "tar", dir, ...paths.map((p) => `./${p}`)];
    await this.readTar(dockerId, cmd, dir, into, maxBytes);
  }

  /** Removes the named paths under the container directory `dir` (relative; directories too). */
  async removePaths(dockerId: string, dir: string, paths: string[]): Promise<void> {
    // In bounded batches: one argv of every path of a large repo would be refused (E2BIG).
    for (const batch of byteBatches(
      paths.map((p) => `./${p}`),
      PATHS_PER_COMMAND_BYTES,
    ))
      await this.removeBatch(dockerId, dir, batch);
  }

  private async removeBatch(dockerId: string, dir: string, paths: string[]): Promise<void> {
    const { exec, stream } = await this.docker.exec(dockerId, {
      cmd: ["rm", "-rf", "--", ...paths],
      user: this.user,
      workdir: dir,
      tty: false,
      stdin: false,
    });
    const errors = new BoundedCollector(EXEC_ERROR_TEXT_MAX_BYTES);
    this.docker.demux(stream, errors, errors);
    await endWithin(stream, SHORT_EXEC_TIMEOUT_MS, `removing files under ${dir}`);
    const code = await exitCode(exec);
    if (code !== 0) throw new Error(`removing files under ${dir} failed: ${errors.text().trim().slice(-500)}`);
  }

  /** Runs a tar-writing `cmd` in the container and extracts its output onto `into`, bounded. */
  private async readTar(dockerId: string, cmd: string[], dir: string, into: string, maxBytes: number): Promise<void> {
    const o = { maxBytes };
    const { exec, stream } = await this.docker.exec(dockerId, {
      cmd,
      user: this.user,
      tty: false,
      stdin: false,
    });
    const limit = new ByteLimit(o.maxBytes, `${dir} in the container`);
    const root = path.resolve(into);
    const extracted = new Set<string>();
    // Modes are ORed with these: a hostile 000 directory or file stays the agent's to read and
    // remove (the context is deleted after the build), whatever the container set.
    const written = pipeline(
      limit,
      extract(root, {
        ignore: (name, header) => !safeEntry(root, name, header, extracted),
        dmode: 0o700,
        fmode: 0o600,
      }),
    );
    // demux ignores backpressure: pause the exec stream while the extract catches up, so the
    // agent holds at most a chunk or two in memory however fast the container sends.
    limit.on("drain", () => stream.resume());
    const paced = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (!limit.write(chunk)) stream.pause();
        cb();
      },
    });
    this.docker.demux(stream, paced, discard());
    const read = endWithin(stream, DIRECTORY_COPY_TIMEOUT_MS, `reading ${dir} from the container`).then(
      () => void limit.end(),
      (err: unknown) => {
        limit.destroy(err as Error);
        throw err;
      },
    );
    // Whichever fails first (the limit, the extract, the deadline) ends the exec stream too.
    await Promise.all([read, written]).catch((err: unknown) => {
      stream.destroy();
      throw err;
    });
    const code = await exitCode(exec);
    if (code !== 0) throw new Error(`reading ${dir} from the container failed (tar exit ${code})`);
  }
}

/**
 * `sh -c TAR_EXCLUDING tar <dir> <name>`: a tar of `dir` without its top-level entry `name` when
 * tar knows --exclude (asked with a tar of /dev/null first, so a tar that refuses the option has
 * written nothing), else all of it.
 */
const TAR_EXCLUDING = [
  'if tar -c -f /dev/null --exclude=x /dev/null 2>/dev/null; then exec tar -c -f - -C "$1" --exclude="./$2" .; fi',
  'exec tar -c -f - -C "$1" .',
].join("\n");

/**
 * `sh -c TAR_EXISTING tar <dir> <path>...`: a tar of those of the paths under `dir` that exist
 * (a file, or a link even when dangling); an empty tar when none does. Each is `./<path>`.
 */
const TAR_EXISTING = [
  'cd "$1" || exit 1',
  "shift",
  'n=$#; for p; do if [ -e "$p" ] || [ -L "$p" ]; then set -- "$@" "$p"; fi; done; shift "$n"',
  "if [ $# -eq 0 ]; then exec tar -c -f - -T /dev/null; fi",
  'exec tar -c -f - "$@"',
].join("\n");

/**
 * Whether a tar entry may be written under `root`: plain files, dirs and links that stay inside,
 * and hard links to a file already written (`written`, the files accepted so far; without it no
 * hard link is). The check is lexical (path.resolve on the names, no look at the disk): enough
 * because nothing on the host follows links in that directory. tar-fs writes through none, and
 * the directory is only a build context, which the engine's builder reads as links, never
 * through them. A hard link to an entry that was skipped or comes later would fail the whole
 * extract (tar-fs links to what is on disk): it is skipped instead.
 */
export function safeEntry(root: string, name: string, header?: Headers, written?: Set<string>): boolean {
  if (!header) return false;
  if (header.type === "file") {
    written?.add(path.resolve(name));
    return true;
  }
  if (header.type === "directory") return true;
  // tar-fs passes tar-stream's header, which has the link's target (its types leave it out).
  const link = (header as Headers & { linkname?: string | null }).linkname;
  // A hard link's name is the archive's, resolved from the root as tar-fs resolves it.
  if (header.type === "link") return !!link && !!written?.has(path.join(root, path.join("/", link)));
  if (header.type !== "symlink" || !link || path.isAbsolute(link)) return false;
  const target = path.resolve(path.dirname(name), link);
  return target === root || target.startsWith(root + path.sep);
}

/**
 * The exec's exit status from Docker. Its output can end a moment before Docker records the
 * exit, so this polls a short while; null when the process is still running after that (its
 * output was closed by something else) or Docker forgot the exec (container gone).
 */
export async function exitCode(exec: Docker.Exec): Promise<number | null> {
  const deadline = Date.now() + EXEC_EXIT_WAIT_MS;
  for (;;) {
    const info = await exec.inspect().catch(() => null);
    if (!info) return null;
    if (!info.Running) return info.ExitCode ?? null;
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 50));
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
