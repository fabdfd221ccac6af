/**
 * What each CLI command does, given a client of the agent: ask, then print for a person (or, with
 * `--json`, the contract's own shape) and answer the exit code. The parsing of argv, settings and
 * what a failure prints are main.ts's, settings.ts's and failure.ts's. Destructive commands
 * (restart, destroy) ask first (confirm.ts); prune and cleanup remove only what the agent's own
 * rules call unused, and `--dry-run` shows it first.
 */
import type { AgentClient } from "../api/client.js";
import type { ContainerDetails, HealthResponse, PruneReport } from "../api/contract.js";
import { formatBytes } from "../lib/bounded-reader.js";
import { confirm } from "./confirm.js";
import { duration, stateOf, STATUS_HEADER, statusRow, table } from "./format.js";

/** Where a command writes; the process's streams, or a test's. */
export type Output = { out: (text: string) => void; err: (text: string) => void };

/** Exit code of an exec that timed out, as timeout(1) has it. */
const EXEC_TIMED_OUT = 124;

const print = (o: Output, text: string) => o.out(`${text}\n`);
const json = (o: Output, value: unknown) => print(o, JSON.stringify(value, null, 2));

export async function status(agent: AgentClient, o: Output, opts: { json: boolean }): Promise<number> {
  const containers = await agent.list();
  if (opts.json) {
    json(o, { containers });
    return 0;
  }
  if (containers.length === 0) {
    print(o, "No managed containers on this host.");
    return 0;
  }
  const sorted = [...containers].sort((a, b) => a.id.localeCompare(b.id));
  print(o, table(STATUS_HEADER, sorted.map(statusRow)));
  const running = containers.filter((c) => c.state === "running").length;
  const down = containers.filter((c) => c.state === "running" && c.health === "not answering").length;
  const summary = `${containers.length} container${containers.length === 1 ? "" : "s"}, ${running} running`;
  print(o, down > 0 ? `${summary}, ${down} not answering: artie-host logs <id> shows why.` : `${summary}.`);
  return 0;
}

export async function logs(
  agent: AgentClient,
  o: Output,
  id: string,
  opts: { tail: number; follow: boolean; idleTimeoutMs: number; signal: AbortSignal },
): Promise<number> {
  for await (const event of agent.logs(id, opts)) {
    (event.stream === "stderr" ? o.err : o.out)(`${event.line}\n`);
  }
  return 0;
}

export async function exec(agent: AgentClient, o: Output, id: string, argv: string[], timeoutMs: number) {
  const r = await agent.exec(id, { command: argv, timeout: timeoutMs });
  if (r.stdout) o.out(r.stdout);
  if (r.stderr) o.err(r.stderr);
  if (r.truncated) o.err("[artie-host: output was cut at the agent's EXEC_OUTPUT_LIMIT_BYTES]\n");
  if (r.timedOut) {
    o.err(`[artie-host: killed after ${timeoutMs} ms; --timeout gives it longer]\n`);
    return EXEC_TIMED_OUT;
  }
  return r.exitCode ?? 1;
}

/** Names a container for a confirmation: its id, name, and repo and branch when set up. */
function describe(d: ContainerDetails): string {
  const source = d.repo ? `, ${d.repo} ${d.branch ?? ""}`.trimEnd() : "";
  const up = d.uptimeSeconds === null ? "" : `, up ${duration(d.uptimeSeconds)}`;
  return `${d.id} (${d.name}${source}, ${stateOf(d)}${up})`;
}

export async function restart(
  agent: AgentClient,
  o: Output,
  id: string,
  opts: { yes: boolean; confirmTimeoutMs: number },
): Promise<number> {
  await confirm("restart", opts, async () => {
    const d = await agent.get(id);
    return `Restart ${describe(d)}? Every process in it ends and it starts again.`;
  });
  const d = await agent.restart(id);
  print(o, `Restarted ${describe(d)}.`);
  return 0;
}

export async function destroy(
  agent: AgentClient,
  o: Output,
  id: string,
  opts: { yes: boolean; confirmTimeoutMs: number },
): Promise<number> {
  await confirm("destroy", opts, async () => {
    const d = await agent.get(id);
    return `Destroy ${describe(d)}? Its container and its workspace, uncommitted work included, are removed for good.`;
  });
  await agent.remove(id);
  print(o, `Destroyed ${id}.`);
  return 0;
}

export async function prune(
  agent: AgentClient,
  o: Output,
  opts: { dryRun: boolean; json: boolean; scope: "all" | "orphans" },
): Promise<number> {
  const report = await agent.prune({ dryRun: opts.dryRun, scope: opts.scope });
  if (opts.json) json(o, report);
  else print(o, pruneText(report));
  return report.errors.length > 0 ? 1 : 0;
}

export function pruneText(r: PruneReport): string {
  const what = r.scope === "orphans" ? "orphaned containers" : "anything";
  if (r.removed.length === 0 && r.errors.length === 0) return `Nothing to remove: no ${what} unused.`;
  const lines: string[] = [];
  if (r.removed.length > 0) {
    const n = `${r.removed.length} item${r.removed.length === 1 ? "" : "s"}`;
    lines.push(
      r.dryRun
        ? `Would remove ${n}, freeing ${formatBytes(r.bytesFreed)} (dry run: nothing was removed):`
        : `Removed ${n}, freed ${formatBytes(r.bytesFreed)}:`,
    );
    const rows = r.removed.map((i) => [i.kind, i.name, i.bytes === null ? "-" : formatBytes(i.bytes), i.reason]);
    lines.push(table(["KIND", "NAME", "SIZE", "REASON"], rows));
  }
  if (r.errors.length > 0) {
    lines.push(`Could not remove ${r.errors.length}:`);
    lines.push(...r.errors.map((e) => `  ${e.kind} ${e.name}: ${e.message}`));
  }
  return lines.join("\n");
}

export async function health(agent: AgentClient, o: Output, opts: { json: boolean }): Promise<number> {
  const h = await agent.health();
  if (opts.json) json(o, h);
  else print(o, healthText(agent.url, h));
  return h.status === "ok" ? 0 : 1;
}

export function healthText(url: string, h: HealthResponse): string {
  const docker = h.docker.reachable
    ? `Docker ${h.docker.version ?? "?"}`
    : `Docker not reachable (${h.docker.error ?? "no answer"})`;
  const count = `${h.containerCount} container${h.containerCount === 1 ? "" : "s"}`;
  const lines = [`${h.status}: agent at ${url}, up ${duration(h.uptime)}, ${docker}, ${count}.`];
  if (!h.docker.reachable)
    lines.push("Next: systemctl status docker (or the engine DOCKER_HOST names), then artie-host health.");
  const c = h.capacity;
  if (c) {
    const d = c.disk;
    lines.push(
      `Disk ${d.path}: ${formatBytes(d.freeBytes)} free of ${formatBytes(d.totalBytes)}` +
        ` (creates refused below ${formatBytes(d.minFreeBytes)})${d.low ? ": low, artie-host prune frees room" : ""}.`,
      `Memory: ${formatBytes(c.memoryAvailableBytes)} available of ${formatBytes(c.memoryTotalBytes)}, ` +
        `${formatBytes(c.allocatedMemoryBytes)} allowed to running containers; ${c.cpus} CPUs, load ${c.load1}.`,
    );
  }
  const pulls = (h.images ?? []).filter((i) => i.state !== "present");
  for (const i of pulls) lines.push(`Image ${i.image}: ${i.state}${i.error ? ` (${i.error})` : ""}.`);
  const last = h.maintenance?.lastRun;
  if (last) {
    const removed = `${last.removed} removed, ${formatBytes(last.bytesFreed)} freed`;
    lines.push(`Last sweep ${last.finishedAt}: ${removed}${last.errors ? `, ${last.errors} failed` : ""}.`);
  }
  for (const p of h.problems ?? []) lines.push(`Problem: ${p}`);
  return lines.join("\n");
}
