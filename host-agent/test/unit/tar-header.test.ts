// Covers src/docker/tar-header.ts: the first entry's owner from ustar, pax and GNU long-name headers.
import { describe, expect, it } from "vitest";
import { TarHeaderError, firstEntryOwner } from "../../src/docker/tar-header.js";
import { paxHeader, ustarHeader } from "./tar-fixtures.js";

describe("firstEntryOwner", () => {
  it("reads uid and gid of a ustar header, as the engine writes one for a directory", () => {
    expect(firstEntryOwner(ustarHeader({ name: "app/", uid: 1000, gid: 1001 }))).toEqual({ uid: 1000, gid: 1001 });
    expect(firstEntryOwner(ustarHeader({ name: "app/", uid: 0, gid: 0 }))).toEqual({ uid: 0, gid: 0 });
  });

  it("asks for more bytes until the header is whole", () => {
    const header = ustarHeader({ name: "app/", uid: 1000, gid: 1000 });
    expect(firstEntryOwner(header.subarray(0, 100))).toBeNull();
    expect(firstEntryOwner(Buffer.alloc(0))).toBeNull();
  });

  it("skips a pax header and takes its uid and gid over the ustar fields", () => {
    const bytes = Buffer.concat([
      paxHeader({ uid: "2000000", gid: "7", path: "app" }),
      ustarHeader({ name: "app/", uid: 1, gid: 1 }),
    ]);
    expect(firstEntryOwner(bytes)).toEqual({ uid: 2000000, gid: 7 });
    // Cut inside the pax data or before the real header: more is needed.
    expect(firstEntryOwner(bytes.subarray(0, 600))).toBeNull();
    expect(firstEntryOwner(bytes.subarray(0, 1024))).toBeNull();
  });

  it("skips a GNU long name", () => {
    const name = Buffer.alloc(512);
    name.write("a".repeat(200));
    const bytes = Buffer.concat([
      ustarHeader({ name: "././@LongLink", uid: 0, gid: 0, type: "L", size: 201 }),
      name,
      ustarHeader({ name: "x/", uid: 1000, gid: 1000 }),
    ]);
    expect(firstEntryOwner(bytes)).toEqual({ uid: 1000, gid: 1000 });
  });

  it("reads base-256 numbers", () => {
    const header = ustarHeader({ name: "app/", uid: 0, gid: 0 });
    header.fill(0, 108, 116);
    header[108] = 0x80;
    header.writeUInt32BE(3_000_000_000, 112);
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
    expect(firstEntryOwner(header)?.uid).toBe(3_000_000_000);
  });

  it("refuses what is not tar: a bad checksum, garbage, an empty archive", () => {
    const header = ustarHeader({ name: "app/", uid: 1000, gid: 1000 });
    header[0] = "b".charCodeAt(0);
    expect(() => firstEntryOwner(header)).toThrow(TarHeaderError);
    expect(() => firstEntryOwner(Buffer.alloc(512, "x"))).toThrow(TarHeaderError);
    expect(() => firstEntryOwner(Buffer.alloc(1024))).toThrow(/empty/);
  });
});
