/**
 * Reads a fetch Response's body without trusting its size: at most `maxBytes` are buffered, then
 * the stream is cancelled. Time is bounded by the caller's fetch signal (AbortSignal.timeout
 * aborts the body read too). The one bounded reader for every answer read from another service:
 * the agent's client (client.ts, used by the CLI and the control plane) and the control plane's
 * GitHub calls. Web-standard only (fetch, streams, TextDecoder), so it runs in Node and in
 * Convex. Leaves out content types and charsets: every service it reads answers UTF-8 JSON, and
 * anything else is treated as "not JSON".
 */

/** The body as JSON; null when it is empty, not JSON, or longer than `maxBytes`. */
export async function readJsonBounded(res: Response, maxBytes: number): Promise<unknown> {
  const bytes = await readBytesBounded(res, maxBytes);
  return bytes ? parseJson(bytes) : null;
}

/** `bytes` as JSON; null when empty or not JSON. */
export function parseJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** The body's bytes (empty when there is none); null when it is longer than `maxBytes`. */
export async function readBytesBounded(res: Response, maxBytes: number): Promise<Uint8Array | null> {
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array(0);
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
