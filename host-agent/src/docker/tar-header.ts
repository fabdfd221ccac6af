/**
 * Reads who owns the first entry of a tar stream (the directory a `GET .../archive?path=` names),
 * from its header alone: ustar, with pax extended headers (`x`, `g`) and GNU long names (`L`,
 * `K`) before it skipped and a pax `uid`/`gid` taken over the header's. The engine writes these
 * headers itself (the stream never carries a container's own bytes before the first entry), but
 * the parser trusts nothing all the same: a bad checksum or a header that is not tar is an error.
 * What it leaves out: everything after the first entry, and reading the stream (the caller feeds
 * it bytes, bounded).
 */

const BLOCK = 512;

export type TarOwner = { uid: number; gid: number };

export class TarHeaderError extends Error {}

/** A numeric field: octal text (NUL or space ended), or GNU base-256 when the top bit is set. */
function numberField(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if (field[0]! & 0x80) {
    let n = field[0]! & 0x7f;
    for (const byte of field.subarray(1)) n = n * 256 + byte;
    return n;
  }
  const text = field
    .toString("latin1")
    .replace(/[\0 ]+$/, "")
    .trim();
  if (!/^[0-7]*$/.test(text)) throw new TarHeaderError(`not a tar header: a numeric field reads "${text}"`);
  return text === "" ? 0 : parseInt(text, 8);
}

/** The header checksum: bytes summed with the checksum field itself taken as spaces. */
function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === numberField(block, 148, 8);
}

/** `uid` and `gid` records of a pax extended header's data (`<len> <key>=<value>\n` each). */
function paxOwner(data: Buffer): Partial<TarOwner> {
  const out: Partial<TarOwner> = {};
  for (const line of data.toString("utf8").split("\n")) {
    const m = /^\d+ (uid|gid)=(\d{1,10})$/.exec(line);
    if (m) out[m[1] as "uid" | "gid"] = Number(m[2]);
  }
  return out;
}

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

/**
 * The first entry's owner; null while `bytes` does not yet hold its header (feed more). Throws
 * TarHeaderError on what is not a tar stream, and on an empty one.
 */
export function firstEntryOwner(bytes: Buffer): TarOwner | null {
  let offset = 0;
  let pax: Partial<TarOwner> = {};
  for (;;) {
    if (bytes.length < offset + BLOCK) return null;
    const block = bytes.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) throw new TarHeaderError("the archive is empty");
    if (!checksumOk(block)) throw new TarHeaderError("not a tar header: its checksum does not match");
    const type = String.fromCharCode(block[156]!);
    const size = numberField(block, 124, 12);
    if (type === "x" || type === "g" || type === "L" || type === "K") {
      const end = offset + BLOCK + size;
      if (bytes.length < end) return null;
      if (type === "x" || type === "g") pax = { ...pax, ...paxOwner(bytes.subarray(offset + BLOCK, end)) };
      offset += BLOCK + padded(size);
      continue;
    }
    return { uid: pax.uid ?? numberField(block, 108, 8), gid: pax.gid ?? numberField(block, 116, 8) };
  }
}
