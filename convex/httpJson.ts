/**
 * Reads a fetch Response's body as JSON without trusting its size: at most `maxBytes` are
 * buffered, then the stream is cancelled. Time is bounded by the caller's fetch signal
 * (AbortSignal.timeout aborts the body read too). Used for every answer the control plane reads
 * from another service (the host agent, GitHub). Leaves out content types and charsets: every
 * service it talks to answers UTF-8 JSON, and anything else is treated as "not JSON".
 */

/** The body as JSON; null when it is empty, not JSON, or longer than `maxBytes`. */
export async function readJsonBounded(res: Response, maxBytes: number): Promise<unknown> {
  const bytes = await readBytesBounded(res, maxBytes);
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** The body's bytes; null when there is none or it is longer than `maxBytes`. */
export async function readBytesBounded(res: Response, maxBytes: number): Promise<Uint8Array | null> {
  const reader = res.body?.getReader();
  if (!reader) return null;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
