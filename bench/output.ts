/**
 * Benchmark (not a test): how fast a setup's command output gets through the agent's logged
 * run, and what the in-container line prefixer costs. One container, three ways per round, on
 * the same command (`yes` lines of 100 bytes, `--mb` megabytes):
 *   - raw:    `docker exec` of the command, its output drained by the agent and dropped (the
 *             engine's own floor: no prefix, no container log, no line cutting);
 *   - shell:  the logged run as it was before issue #16 (a POSIX `read` loop that prefixes each
 *             line and carries the exit status as a printed marker), kept here as the baseline;
 *   - now:    ContainerIO.run as setups use it (node prefixer in the container, lines cut at
 *             OUTPUT_LINE_MAX_BYTES, exit status from Docker), plus the prefixer's peak RSS.
 *
 *   npm run bench:output [-- --n 3 --mb 10]
 *
 * Prints medians and ratios (now/raw, shell/now) and writes bench/results/output-<timestamp>.json.
 */
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import Docker from "dockerode";
import { DockerClient } from "../host-agent/src/docker/client.js";
import { createLogger } from "../host-agent/src/lib/logger.js";
import { BoundedCollector, endWithin } from "../host-agent/src/lib/bounded-reader.js";
import { ContainerIO, LineTail } from "../host-agent/src/setup/container-io.js";
import { writeReport } from "./lib.js";

const { values } = parseArgs({
  options: { n: { type: "string", default: "3" }, mb: { type: "string", default: "10" } },
});
const N = Number(values.n);
const BYTES = Number(values.mb) * 1024 * 1024;
const IMAGE = "artie-test/node:20";
const USER = "1000:1000";
const LINE = "x".repeat(99);
const COMMAND = ["sh", "-c", 'yes "$0" | head -c "$1"', LINE, String(BYTES)];

/** The logged run before issue #16, verbatim: the baseline this benchmark measures against. */
const SHELL_LOGGED = [
  'phase="$0"; exec 3>/proc/1/fd/1',
  '( "$@" 2>&1; echo "__artie_exit=$?" ) | while IFS= read -r l; do case "$l" in __artie_exit=*) exit "${l#__artie_exit=}";; esac',
  'printf "[%s] %s\\n" "$phase" "$l" >&3; printf "[%s] %s\\n" "$phase" "$l"; done',
].join("; ");

const docker = new Docker();
const client = new DockerClient(createLogger("silent"));
const io = new ContainerIO(client, USER);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const round = (x: number) => Math.round(x * 1000) / 1000;
const discard = () => new Writable({ write: (_c, _e, cb) => cb() });
/** Any one read from the container may take this long (a stalled run fails the benchmark). */
const READ_DEADLINE_MS = 5 * 60_000;
/** The RSS probe prints a line per matching process; more than this is not its answer. */
const PROBE_MAX_BYTES = 4096;

async function timedExec(id: string, cmd: string[]): Promise<number> {
  const started = performance.now();
  const { stream } = await client.exec(id, { cmd, user: USER, tty: false, stdin: false });
  client.demux(stream, discard(), discard());
  await endWithin(stream, READ_DEADLINE_MS, "the benchmark's exec");
  return performance.now() - started;
}

/** Peak VmRSS (KiB) of the node prefixer in the container, sampled while `work` runs. */
async function prefixerPeak(id: string, work: Promise<unknown>): Promise<number> {
  const probe =
    'for p in /proc/[0-9]*; do grep -q "const fs=require" "$p/cmdline" 2>/dev/null && grep VmRSS "$p/status"; done';
  let peak = 0;
  let done = false;
  void work.finally(() => (done = true));
  while (!done) {
    const { stream } = await client.exec(id, { cmd: ["sh", "-c", probe], user: USER, tty: false, stdin: false });
    const out = new BoundedCollector(PROBE_MAX_BYTES);
    client.demux(stream, out, discard());
    await endWithin(stream, READ_DEADLINE_MS, "the RSS probe");
    for (const m of out.text().matchAll(/VmRSS:\s+(\d+)/g)) peak = Math.max(peak, Number(m[1]));
    await new Promise((r) => setTimeout(r, 100));
  }
  return peak;
}

async function main() {
  const container = await docker.createContainer({
    Image: IMAGE,
    Cmd: ["sleep", "3600"],
    User: USER,
    name: `bench-output-${Date.now()}`,
    HostConfig: { Init: true, LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "2" } } },
  });
  await container.start();
  const results = { raw: [] as number[], shell: [] as number[], now: [] as number[], prefixerRssKiB: [] as number[] };
  try {
    for (let i = 0; i < N; i++) {
      results.raw.push(await timedExec(container.id, COMMAND));
      results.shell.push(await timedExec(container.id, ["sh", "-c", SHELL_LOGGED, "bench", ...COMMAND]));
      const started = performance.now();
      const run = io.run(container.id, "bench", COMMAND, {
        tail: new LineTail(20),
        timeoutMs: 10 * 60_000,
        what: "printing",
      });
      results.prefixerRssKiB.push(await prefixerPeak(container.id, run));
      const code = await run;
      results.now.push(performance.now() - started);
      if (code !== 0) throw new Error(`the logged run exited ${code}`);
      console.log(
        `round ${i + 1}: raw ${Math.round(results.raw[i]!)} ms, shell ${Math.round(results.shell[i]!)} ms, now ${Math.round(results.now[i]!)} ms`,
      );
    }
  } finally {
    await container.remove({ force: true });
  }
  const medianMs = { raw: median(results.raw), shell: median(results.shell), now: median(results.now) };
  const ratios = { "now/raw": round(medianMs.now / medianMs.raw), "shell/now": round(medianMs.shell / medianMs.now) };
  const prefixerPeakRssMiB = round(Math.max(...results.prefixerRssKiB) / 1024);
  console.log(
    `${values.mb} MB of 100-byte lines, n = ${N}: raw ${Math.round(medianMs.raw)} ms, shell ${Math.round(medianMs.shell)} ms, now ${Math.round(medianMs.now)} ms`,
  );
  console.log(`ratios ${JSON.stringify(ratios)}; node prefixer peak RSS ${prefixerPeakRssMiB} MiB`);
  writeReport("output", {
    date: new Date().toISOString(),
    n: N,
    megabytes: Number(values.mb),
    medianMs,
    ratios,
    prefixerPeakRssMiB,
    samplesMs: results,
  });
}

await main();
