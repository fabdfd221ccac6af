/**
 * A test receiver for setup callbacks: verifies each Standard Webhooks signature itself (not
 * with the agent's code), records what arrived, and can refuse deliveries to exercise retries.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SetupCallback } from "../../src/api/contract.js";

export type Received = { webhookId: string; timestamp: number; validSignature: boolean; body: SetupCallback };

export type Receiver = {
  url: string;
  received: Received[];
  /** webhook-ids answered with 503. */
  refused: string[];
  /** Answer the next `n` deliveries with 503. */
  refuse: (n: number) => void;
  waitFor: (predicate: (r: Received[]) => boolean, timeoutMs?: number) => Promise<Received[]>;
  close: () => Promise<void>;
};

function verify(secret: string, id: string, timestamp: string, body: string, header: string): boolean {
  const expected = createHmac("sha256", Buffer.from(secret)).update(`${id}.${timestamp}.${body}`).digest();
  return header.split(" ").some((sig) => {
    const [version, value] = sig.split(",");
    if (version !== "v1" || !value) return false;
    const given = Buffer.from(value, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export async function startReceiver(secret: string, port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const refused: string[] = [];
  let refusals = 0;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (refusals > 0) {
        refusals--;
        refused.push(String(req.headers["webhook-id"] ?? ""));
        res.statusCode = 503;
        return res.end();
      }
      const id = String(req.headers["webhook-id"] ?? "");
      const ts = String(req.headers["webhook-timestamp"] ?? "");
      const sig = String(req.headers["webhook-signature"] ?? "");
      received.push({
        webhookId: id,
        timestamp: Number(ts),
        validSignature: verify(secret, id, ts, body, sig),
        body: SetupCallback.parse(JSON.parse(body)),
      });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}/docker-status`,
    received,
    refused,
    refuse: (n) => (refusals = n),
    waitFor: async (predicate, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline)
          throw new Error(`callbacks never matched; got ${JSON.stringify(received.map((r) => r.body.phase))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return received;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
