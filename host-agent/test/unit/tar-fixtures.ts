/**
 * Tar headers built by hand for the tests of docker/tar-header.ts and the fake engine's archive
 * stream: ustar blocks with a correct checksum, and pax extended headers.
 */

const BLOCK = 512;

const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, "0") + "\0";

/** One ustar header block (a directory, type `5`, unless said otherwise). */
export function ustarHeader(o: { name: string; uid: number; gid: number; type?: string; size?: number }): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(o.name, 0, 100, "utf8");
  b.write(octal(0o755, 8), 100, "latin1");
  b.write(octal(o.uid, 8), 108, "latin1");
  b.write(octal(o.gid, 8), 116, "latin1");
  b.write(octal(o.size ?? 0, 12), 124, "latin1");
  b.write(octal(0, 12), 136, "latin1");
  b.write(o.type ?? "5", 156, "latin1");
  b.write("ustar\0", 257, "latin1");
  b.write("00", 263, "latin1");
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
  return b;
}

/** A pax extended header (type `x`) with its records, padded to whole blocks. */
export function paxHeader(records: Record<string, string>): Buffer {
  const lines = Object.entries(records).map(([k, v]) => {
    const body = ` ${k}=${v}\n`;
    let len = body.length + 1;
    while (`${len}${body}`.length !== len) len++;
    return `${len}${body}`;
  });
  const data = Buffer.from(lines.join(""));
  const padded = Buffer.alloc(Math.ceil(data.length / BLOCK) * BLOCK);
  data.copy(padded);
  return Buffer.concat([ustarHeader({ name: "PaxHeaders/app", uid: 0, gid: 0, type: "x", size: data.length }), padded]);
}
