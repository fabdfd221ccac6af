// Covers src/setup/listeners.ts without an engine: the /proc/net/tcp{,6} parser on tables captured
// from real containers and on hostile text, the scan output's sections, and the address helpers.
import { describe, expect, it } from "vitest";
import { LISTENER_TABLE_LINES_MAX } from "../../src/config.js";
import {
  SOCKET_SCAN,
  connectAddress,
  describeListener,
  isLoopback,
  parseProcNetTcp,
  parseScan,
  type Listener,
} from "../../src/setup/listeners.js";
import { SCAN_OUTPUT, TCP, TCP6, TCP6_V6_OFF, TCP_V6_OFF } from "./proc-net-captures.js";

const brief = (ls: Listener[]) => ls.map((l) => `${describeListener(l)}#${l.inode}`);

/** A table line as the kernel prints it, for the local address hex, port hex, state and inode given. */
const line = (local: string, port: string, state = "0A", inode = 4242) =>
  `   0: ${local}:${port} ${"0".repeat(local.length)}:0000 ${state} 00000000:00000000 00:00000000 00000000  1000        0 ${inode} 1 0000000000000000 100 0 0 10 0`;

describe("parseProcNetTcp", () => {
  it("reads the LISTEN sockets of a real tcp table and skips connections", () => {
    expect(brief(parseProcNetTcp(TCP, 4))).toEqual(["0.0.0.0:9999#1111062", "127.0.0.1:5173#1111060"]);
  });

  it("reads a real tcp6 table: loopback, wildcard (dual-stack or not), v4-mapped", () => {
    expect(brief(parseProcNetTcp(TCP6, 6))).toEqual([
      "[::1]:4321#1111061",
      "[::]:3000#1111063",
      "[::]:8080#1111065",
      "[::ffff:127.0.0.1]:6000#1111064",
    ]);
  });

  it("reads a container without IPv6: an empty tcp6 table, localhost as 127.0.0.1", () => {
    expect(parseProcNetTcp(TCP_V6_OFF, 4)).toEqual([{ family: 4, address: "127.0.0.1", port: 5173, inode: 1111212 }]);
    expect(parseProcNetTcp(TCP6_V6_OFF, 6)).toEqual([]);
  });

  it("decodes each 32-bit word little-endian and writes IPv6 in its RFC 5952 form", () => {
    const v6 = (hex: string) => parseProcNetTcp(line(hex, "1F90"), 6)[0]?.address;
    // 172.17.0.2, the container's own address (captured).
    expect(parseProcNetTcp(line("020011AC", "1F40"), 4)[0]?.address).toBe("172.17.0.2");
    // fd00::1234:5678 → words fd00:0000 | 0 | 0 | 1234:5678, each byte-reversed.
    expect(v6("000000FD000000000000000078563412")).toBe("fd00::1234:5678");
    // 2001:db8:0:0:1:0:0:1: the first of two equal zero runs is the one shortened.
    expect(v6("B80D0120000000000000010001000000")).toBe("2001:db8::1:0:0:1");
    // A single zero group is not shortened.
    expect(v6("B80D0120000001000100010001000100")).toBe("2001:db8:1:0:1:1:1:1");
    expect(v6("0000000000000000FFFF0000020011AC")).toBe("::ffff:172.17.0.2");
  });

  it("skips what is not a well-formed LISTEN entry of the family", () => {
    const text = [
      line("0100007F", "1435", "01"), // ESTABLISHED
      line("0100007F", "1435", "06"), // TIME_WAIT
      line("0100007F", "0000"), // port 0
      line("0100007F", "1435", "0A", 0), // inode 0
      line("00000000000000000000000001000000", "10E1"), // a tcp6 line in the tcp table
      line("0100007", "1435"), // 7 hex digits
      "   0: 0100007F:1435 00000000:0000 0A", // cut off
      "garbage 0A garbage",
      "x".repeat(100_000),
      line("0100007G", "1435"), // not hex
      line("0100007F", "1435", "0A", 99).replace(" 99 ", " 99x "), // inode not a number
      line("0100007F", "1435", "0a", 7), // lowercase state (accepted)
    ].join("\n");
    expect(brief(parseProcNetTcp(text, 4))).toEqual(["127.0.0.1:5173#7"]);
  });

  it("looks at no more than LISTENER_TABLE_LINES_MAX lines", () => {
    const filler = Array.from({ length: LISTENER_TABLE_LINES_MAX - 1 }, () => "junk");
    const within = [...filler, line("0100007F", "1435", "0A", 1)].join("\n");
    const beyond = [...filler, "junk", line("0100007F", "1435", "0A", 1)].join("\n");
    expect(parseProcNetTcp(within, 4)).toHaveLength(1);
    expect(parseProcNetTcp(beyond, 4)).toHaveLength(0);
  });
});

describe("parseScan", () => {
  it("splits a real scan into the two tables and the tagged process's sockets", () => {
    const scan = parseScan(SCAN_OUTPUT);
    expect(brief(parseProcNetTcp(scan.tcp4, 4))).toEqual([
      "127.0.0.1:5173#1151625",
      "0.0.0.0:9999#1152605",
      "172.17.0.2:8000#1151628",
    ]);
    expect(brief(parseProcNetTcp(scan.tcp6, 6))).toEqual([
      "[::]:24678#1151627",
      "[::ffff:127.0.0.1]:7000#1152606",
      "[::1]:4321#1151626",
    ]);
    // Its six sockets, not the open file whose name looks like a socket's link.
    expect([...scan.owned]).toEqual([
      [1151625, 7],
      [1151626, 7],
      [1151627, 7],
      [1151628, 7],
      [1151629, 7],
      [1151630, 7],
    ]);
  });

  it("keeps an inode's first owner, and ignores non-sockets and lines before any pid or outside the section", () => {
    const scan = parseScan(
      [
        "1 srwxrwxrwx 1 app app 0 Jan  1  1970 3",
        "tcp4",
        "2 srwxrwxrwx 1 app app 0 Jan  1  1970 3",
        "owned",
        "3 srwxrwxrwx 1 app app 0 Jan  1  1970 3",
        "pid 10",
        "4 srwxrwxrwx 1 app app 0 Jan  1  1970 3",
        "5 -rw-r--r-- 1 app app 0 Dec  1 10:15 4",
        "pid 11",
        "4 srwxrwxrwx 1 app app 0 Jan  1  1970 3",
      ].join("\n"),
    );
    expect([...scan.owned]).toEqual([[4, 10]]);
  });

  it("the scan script takes the tag as $0 (it is a constant: nothing is spliced into it)", () => {
    expect(SOCKET_SCAN).toContain('t="ARTIE_EXEC_TAG=$0"');
  });
});

describe("address helpers", () => {
  const l = (family: 4 | 6, address: string): Listener => ({ family, address, port: 5173, inode: 1 });

  it("connectAddress reaches wildcards on loopback and v4-mapped addresses as IPv4", () => {
    expect(connectAddress(l(4, "0.0.0.0"))).toBe("127.0.0.1");
    expect(connectAddress(l(4, "127.0.0.1"))).toBe("127.0.0.1");
    expect(connectAddress(l(4, "172.17.0.2"))).toBe("172.17.0.2");
    expect(connectAddress(l(6, "::"))).toBe("::1");
    expect(connectAddress(l(6, "::1"))).toBe("::1");
    expect(connectAddress(l(6, "::ffff:127.0.0.1"))).toBe("127.0.0.1");
    expect(connectAddress(l(6, "::ffff:0.0.0.0"))).toBe("127.0.0.1");
  });

  it("isLoopback and describeListener", () => {
    expect([l(4, "127.0.0.1"), l(6, "::1"), l(6, "::ffff:127.0.0.1")].every(isLoopback)).toBe(true);
    expect([l(4, "0.0.0.0"), l(6, "::"), l(4, "172.17.0.2")].some(isLoopback)).toBe(false);
    expect(describeListener(l(6, "::1"))).toBe("[::1]:5173");
    expect(describeListener(l(4, "127.0.0.1"))).toBe("127.0.0.1:5173");
  });
});
