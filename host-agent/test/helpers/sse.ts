/**
 * A minimal SSE reader for tests (what a browser's EventSource does): reads events until a
 * count, an `end` event or a deadline, and can cut the connection mid-stream.
 */
export type SseEvent = { id?: string; event?: string; data: string };

export async function readSse(
  url: string,
  opts: { headers?: Record<string, string>; maxEvents?: number; timeoutMs?: number },
): Promise<{ status: number; events: SseEvent[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs ?? 10_000);
  const events: SseEvent[] = [];
  try {
    const res = await fetch(url, { headers: opts.headers, signal: controller.signal });
    if (res.status !== 200 || !res.body) return { status: res.status, events };
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let sep: number;
        while ((sep = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, sep);
          buffer = buffer.slice(sep + 2);
          const event = parseBlock(block);
          if (!event) continue;
          events.push(event);
          if (event.event === "end" || (opts.maxEvents && events.length >= opts.maxEvents)) {
            controller.abort();
            return { status: res.status, events };
          }
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    }
    return { status: res.status, events };
  } finally {
    clearTimeout(timer);
  }
}

function parseBlock(block: string): SseEvent | null {
  const event: SseEvent = { data: "" };
  let hasData = false;
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const idx = line.indexOf(":");
    const field = idx < 0 ? line : line.slice(0, idx);
    const value = idx < 0 ? "" : line.slice(idx + 1).replace(/^ /, "");
    if (field === "data") {
      event.data = hasData ? `${event.data}\n${value}` : value;
      hasData = true;
    } else if (field === "id") event.id = value;
    else if (field === "event") event.event = value;
  }
  return hasData ? event : null;
}
