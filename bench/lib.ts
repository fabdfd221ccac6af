/**
 * What the benchmarks share: running the agent as its own process, medians, a table printed and
 * as Markdown, and writing a report. Nothing here measures anything.
 */
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

/** The median (the lower middle one of an even count); undefined for no samples. */
export const median = (xs: number[]): number | undefined =>
  xs.length === 0 ? undefined : [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/** Rows as padded columns for the terminal, and as a Markdown table for the report. */
export function table(header: string[], rows: string[][]): { text: string; markdown: string } {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const text = [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ")).join("\n");
  const markdown = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
  return { text, markdown };
}

const resultFile = (name: string, date: string, ext: "json" | "md") =>
  `bench/results/${name}-${date.replace(/[:.]/g, "-")}.${ext}`;

/** Writes `report` to bench/results/<name>-<timestamp>.json and says where. */
export function writeReport(name: string, report: { date: string } & Record<string, unknown>): void {
  mkdirSync("bench/results", { recursive: true });
  const file = resultFile(name, report.date, "json");
  writeFileSync(file, JSON.stringify(report, null, 2));
  console.log(`written to ${file}`);
}

/** Writes `markdown` to bench/results/<name>-<timestamp>.md (the JSON report's twin) and says where. */
export function writeMarkdown(name: string, date: string, markdown: string): void {
  mkdirSync("bench/results", { recursive: true });
  const file = resultFile(name, date, "md");
  writeFileSync(file, markdown);
  console.log(`written to ${file}`);
}
