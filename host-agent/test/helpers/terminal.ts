/** A terminal client for tests: collects output, waits for text, sends input and resizes. */
import WebSocket from "ws";

export type TerminalSession = {
  ws: WebSocket;
  output: () => string;
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  send: (data: string) => void;
  resize: (cols: number, rows: number) => void;
  closed: Promise<{ code: number; reason: string }>;
};

export function openTerminal(url: string): Promise<TerminalSession> {
  const ws = new WebSocket(url);
  let text = "";
  ws.on("message", (data: Buffer) => (text += data.toString("utf8")));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const waitFor = async (pattern: RegExp, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = text.match(pattern);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`terminal output never matched ${pattern}: ${JSON.stringify(text)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return new Promise((resolve, reject) => {
    ws.once("open", () =>
      resolve({
        ws,
        output: () => text,
        waitFor,
        send: (data) => ws.send(JSON.stringify({ type: "input", data })),
        resize: (cols, rows) => ws.send(JSON.stringify({ type: "resize", cols, rows })),
        closed,
      }),
    );
    ws.once("unexpected-response", (_req, res) =>
      reject(Object.assign(new Error("upgrade refused"), { status: res.statusCode })),
    );
    ws.once("error", reject);
  });
}

/** Tries an upgrade and reports the HTTP status it was refused with (or 101). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("error", reject);
  });
}
