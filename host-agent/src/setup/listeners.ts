/**
 * Where a setup's processes listen, read from the container's own socket table: the dev
 * server's fallback when it listens somewhere other than the environment's port (another port,
 * or loopback only). One exec prints the LISTEN lines of /proc/net/tcp and /proc/net/tcp6 and the
 * socket inodes held by the processes whose environment carries the setup's tag (exec-tag.ts);
 * the agent parses both and keeps the listeners those processes own. All processes of a
 * container share its network namespace, so the tables are the container's, and the tag is what
 * tells the dev server's sockets from anything else running there.
 *
 * Left out: choosing which listener to forward to (the dev server's caller knows the framework),
 * UDP and Unix sockets, and big-endian hosts (the tables print each 32-bit word in host byte
 * order; every host this agent runs on is little-endian).
 */
import {
  EXEC_ERROR_TEXT_MAX_BYTES,
  LISTENER_SCAN_MAX_BYTES,
  LISTENER_SCAN_TIMEOUT_MS,
  LISTENER_TABLE_LINES_MAX,
} from "../config.js";
import { tagEnv } from "../containers/exec-tag.js";
import type { DockerClient } from "../docker/client.js";
import { BoundedCollector, endWithin, formatBytes } from "../lib/bounded-reader.js";

export type Listener = {
  family: 4 | 6;
  /** The local address in its usual text form: 0.0.0.0, 127.0.0.1, ::, ::1, ::ffff:127.0.0.1. */
  address: string;
  port: number;
  /** The socket's inode, which /proc/<pid>/fd/* links name as socket:[inode]. */
  inode: number;
};

/** A listener and the (first) tagged process that holds it. */
export type OwnedListener = Listener & { pid: number };

/** TCP_LISTEN in the kernel's state numbering, as the tables print it. */
const LISTEN_STATE = "0A";

/** One table line: `sl: local rem st tx:rx tr:when retrnsmt uid timeout inode ...`. */
const LINE =
  /^\s*\d+:\s+([0-9A-Fa-f]+):([0-9A-Fa-f]{4})\s+[0-9A-Fa-f]+:[0-9A-Fa-f]{4}\s+([0-9A-Fa-f]{2})\s+\S+\s+\S+\s+\S+\s+\d+\s+-?\d+\s+(\d+)(?:\s|$)/;

/**
 * The LISTEN sockets of a /proc/net/tcp (family 4) or /proc/net/tcp6 (family 6) text. The text is
 * the container's: only the first LISTENER_TABLE_LINES_MAX lines are looked at, and a line that
 * is not a well-formed entry of that family (header, garbage, a cut-off last line) is skipped.
 */
export function parseProcNetTcp(text: string, family: 4 | 6): Listener[] {
  const hexLength = family === 4 ? 8 : 32;
  const out: Listener[] = [];
  const lines = text.split("\n", LISTENER_TABLE_LINES_MAX);
  for (const line of lines) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, hex, portHex, state, inodeText] = m as unknown as [string, string, string, string, string];
    if (state.toUpperCase() !== LISTEN_STATE || hex.length !== hexLength) continue;
    const port = parseInt(portHex, 16);
    const inode = Number(inodeText);
    // Port 0 and inode 0 are not a listening socket anyone can reach or own.
    if (port === 0 || !Number.isSafeInteger(inode) || inode === 0) continue;
    out.push({ family, address: formatAddress(wordsToBytes(hex)), port, inode });
  }
  return out;
}

/** The table's hex, each 32-bit word in host (little-endian) order, as network-order bytes. */
function wordsToBytes(hex: string): Buffer {
  const bytes = Buffer.from(hex, "hex");
  for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  return bytes;
}

const ipv4 = (b: Buffer) => [...b].join(".");

/** RFC 5952 text of a 4- or 16-byte address: lowercase, the longest run of zero groups as `::`. */
function formatAddress(b: Buffer): string {
  if (b.length === 4) return ipv4(b);
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    return `::ffff:${ipv4(b.subarray(12))}`;
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.length < 2) return groups.join(":");
  const left = groups.slice(0, best.start).join(":");
  const right = groups.slice(best.start + best.length).join(":");
  return `${left}::${right}`;
}

/**
 * The address a client inside the container connects to for this listener: a wildcard is
 * reached on loopback of its family, a v4-mapped address as the IPv4 address it carries.
 */
export function connectAddress(l: Listener): string {
  if (l.address === "0.0.0.0" || l.address === "::ffff:0.0.0.0") return "127.0.0.1";
  if (l.address === "::") return "::1";
  if (l.address.startsWith("::ffff:") && l.address.includes(".")) return l.address.slice("::ffff:".length);
  return l.address;
}

/** `127.0.0.1:5173`, `[::1]:4321`: for log lines and error messages. */
export const describeListener = (l: Listener) =>
  l.family === 6 ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;

/** Whether only the container itself can reach the listener (its caller must forward to it). */
export const isLoopback = (l: Listener) =>
  l.address.startsWith("127.") || l.address === "::1" || l.address.startsWith("::ffff:127.");

/**
 * Prints, under section lines, the LISTEN lines of both tables, then for every process whose
 * environment holds the tag (`$0`, never spliced into the text) `pid <pid>` and its socket fds
 * as `ls -liL` lists them: the inode and mode of what each fd leads to (`1151369 srwxrwxrwx ...`).
 * Only kernel-made text is matched: a link's target (`socket:[N]`, or a file's path, which the
 * process chooses) is never printed, and a socket's inode is sockfs's own, so an open file
 * cannot pose as a socket. One `ls` per process reads all its fds (a readlink per fd would fork
 * per fd); busybox and coreutils print the same columns. environ is NUL-separated and busybox
 * grep stops at a NUL, so it is split into lines first, as exec-tag.ts's kill script does. A
 * table missing (no IPv6 in the kernel) prints nothing.
 */
export const SOCKET_SCAN = [
  `t="${tagEnv("")}$0"`,
  `echo tcp4; grep " ${LISTEN_STATE} " /proc/net/tcp 2>/dev/null`,
  `echo tcp6; grep " ${LISTEN_STATE} " /proc/net/tcp6 2>/dev/null`,
  "echo owned",
  'for e in /proc/[0-9]*/environ; do p=${e#/proc/}; p=${p%/environ}; [ "$p" = "$$" ] && continue',
  'tr "\\0" "\\n" < "$e" 2>/dev/null | grep -qxF "$t" || continue',
  'echo "pid $p"; ls -liL "/proc/$p/fd" 2>/dev/null | grep "^ *[0-9]* s"; done',
  "exit 0",
].join("\n");

type Scan = { tcp4: string; tcp6: string; owned: Map<number, number> };

/** Splits the scan's output into its sections; owned maps socket inode → first tagged pid. */
export function parseScan(text: string): Scan {
  const sections: Record<string, string[]> = { tcp4: [], tcp6: [], owned: [] };
  let current: string[] | undefined;
  for (const line of text.split("\n")) {
    if (line === "tcp4" || line === "tcp6" || line === "owned") current = sections[line];
    else current?.push(line);
  }
  const owned = new Map<number, number>();
  let pid: number | undefined;
  for (const line of sections.owned!) {
    const p = /^pid (\d+)$/.exec(line);
    if (p) pid = Number(p[1]);
    const s = /^\s*(\d+) s/.exec(line);
    if (s && pid !== undefined && !owned.has(Number(s[1]))) owned.set(Number(s[1]), pid);
  }
  return { tcp4: sections.tcp4!.join("\n"), tcp6: sections.tcp6!.join("\n"), owned };
}

/**
 * The TCP listeners held by the processes started under `tag`, one exec in the container as
 * `user` (the processes' own user, so their /proc entries are readable). Sorted by port. Throws
 * when the scan cannot run, is over LISTENER_SCAN_MAX_BYTES, or takes over LISTENER_SCAN_TIMEOUT_MS.
 */
export async function findListeners(
  docker: DockerClient,
  dockerId: string,
  user: string,
  tag: string,
): Promise<OwnedListener[]> {
  const { stream } = await docker.exec(dockerId, {
    cmd: ["sh", "-c", SOCKET_SCAN, tag],
    user,
    tty: false,
    stdin: false,
  });
  const out = new BoundedCollector(LISTENER_SCAN_MAX_BYTES);
  const errors = new BoundedCollector(EXEC_ERROR_TEXT_MAX_BYTES);
  // Over the limit the scan is incomplete (its last section is the ownership): stop reading.
  out.once("truncated", () => stream.destroy());
  docker.demux(stream, out, errors);
  await endWithin(stream, LISTENER_SCAN_TIMEOUT_MS, "reading the container's socket table");
  if (out.truncated)
    throw new Error(`the container's socket table is larger than the limit of ${formatBytes(LISTENER_SCAN_MAX_BYTES)}`);
  const text = out.text();
  if (!text.includes("owned\n"))
    throw new Error(`reading the container's socket table failed: ${errors.text().trim() || "no output"}`);
  const scan = parseScan(text);
  const listeners = [...parseProcNetTcp(scan.tcp4, 4), ...parseProcNetTcp(scan.tcp6, 6)];
  return listeners
    .flatMap((l) => {
      const pid = scan.owned.get(l.inode);
      return pid === undefined ? [] : [{ ...l, pid }];
    })
    .sort((a, b) => a.port - b.port || a.family - b.family);
}
