/** What the benchmarks share: running the agent as its own process, and writing a report. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";

/** Starts `host-agent/src/main.ts` with `env` and waits (up to 20 s) until /health answers. */
export async function startAgentProcess(url: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "host-agent/src/main.ts"], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: "inherit",
  });
  for (let i = 0; i < 200; i++) {
    const up = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("the agent did not start within 20 s");
}

/** Writes `report` to bench/results/<name>-<timestamp>.json and says where. */
export function writeReport(name: string, report: { date: string } & Record<string, unknown>): void {
  mkdirSync("bench/results", { recursive: true });
  const file = `bench/results/${name}-${report.date.replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, JSON.stringify(report, null, 2));
  console.log(`written to ${file}`);
}
