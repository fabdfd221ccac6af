/**
 * Text for a person at a terminal: aligned tables, uptimes as `2h 15m`, ports as `10001->3000`.
 * Plain ASCII and no colours, so it reads the same in a pipe, a log and over ssh. It leaves out
 * JSON (each command's `--json` prints the contract's own shape).
 */
import type { ContainerDetails } from "../api/contract.js";

/** Rows under a header, each column as wide as its widest cell, two spaces between. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** `45s`, `12m 5s`, `2h 15m`, `3d 4h`. */
export function duration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export const ports = (d: Pick<ContainerDetails, "ports">) =>
  d.ports.map((p) => `${p.hostPort}->${p.containerPort}`).join(",");

/** A state with its exit code when it has one: `exited (137)`. */
export const stateOf = (d: Pick<ContainerDetails, "state" | "exitCode">) =>
  d.exitCode === null ? d.state : `${d.state} (${d.exitCode})`;

export const STATUS_HEADER = ["ID", "STATE", "HEALTH", "UPTIME", "PORTS", "IMAGE", "REPO", "BRANCH"];

export function statusRow(d: ContainerDetails): string[] {
  return [
    d.id,
    stateOf(d),
    d.health,
    d.uptimeSeconds === null ? "-" : duration(d.uptimeSeconds),
    ports(d),
    d.image,
    d.repo ?? "-",
    d.branch ?? "-",
  ];
}
