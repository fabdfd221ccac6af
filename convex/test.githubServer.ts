/**
 * The GitHub stand-in (test.githubStandIn.ts) on a real HTTP server on 127.0.0.1, for tests
 * that run in Node and reach GitHub over the network (the end-to-end test). Point both
 * GITHUB_API_URL and GITHUB_URL at `url`. Leaves out TLS: the control plane's client does not
 * care about the scheme, and the server only ever listens on loopback.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { GitHubStandIn } from "./test.githubStandIn";

/** Requests larger than this are cut off; nothing the control plane sends comes close. */
const MAX_REQUEST_BYTES = 1024 * 1024;

export type ServedStandIn = { url: string; close: () => Promise<void> };

export async function serveGitHubStandIn(standIn: GitHubStandIn): Promise<ServedStandIn> {
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers)) {
          if (typeof value === "string") headers.set(name, value);
        }
        const answer = await standIn.handle(
          new Request(`http://${req.headers.host}${req.url}`, {
            method: req.method,
            headers,
            body: req.method === "GET" || req.method === "HEAD" ? undefined : new Uint8Array(body),
          }),
        );
        const out: Record<string, string> = {};
        answer.headers.forEach((value, name) => (out[name] = value));
        res.writeHead(answer.status, out);
        res.end(Buffer.from(await answer.arrayBuffer()));
      } catch (err) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(String(err));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw new Error("request too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
