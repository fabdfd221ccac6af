/**
 * A registry the test creates on 127.0.0.1 (the engine treats loopback registries as insecure,
 * so it speaks plain HTTP to it): `failing` answers 500 to everything; `serving` answers the
 * Registry API v2 calls a pull makes (`/v2/`, the manifest, the blobs) with one image, its
 * manifest after `delayMs` (so a test can act while the pull is under way). Both count the
 * requests they get: proof the engine really asked.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Blob } from "./image-fixtures.js";

export type TestRegistry = { host: string; requests: () => number; close: () => Promise<void> };

async function listen(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestRegistry> {
  let count = 0;
  const server = createServer((req, res) => {
    count++;
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests: () => count,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function failingRegistry(): Promise<TestRegistry> {
  return listen((_req, res) => res.writeHead(500, { "content-type": "text/plain" }).end("registry down"));
}

export function servingRegistry(image: { manifest: Buffer; blobs: Map<string, Blob> }, delayMs: number) {
  const MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json";
  return listen((req, res) => {
    const url = req.url ?? "";
    const headers = { "docker-distribution-api-version": "registry/2.0" };
    if (url === "/v2/" || url === "/v2")
      return res.writeHead(200, { ...headers, "content-type": "application/json" }).end("{}");
    if (/^\/v2\/.+\/manifests\/[^/]+$/.test(url)) {
      const send = () =>
        res
          .writeHead(200, {
            ...headers,
            "content-type": MANIFEST_TYPE,
            "content-length": image.manifest.length,
            "docker-content-digest": `sha256:${createHashHex(image.manifest)}`,
          })
          .end(req.method === "HEAD" ? undefined : image.manifest);
      return void setTimeout(send, delayMs);
    }
    const blob = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url)?.[1];
    const found = blob ? image.blobs.get(blob) : undefined;
    if (found)
      return res
        .writeHead(200, {
          ...headers,
          "content-type": "application/octet-stream",
          "content-length": found.bytes.length,
          "docker-content-digest": found.digest,
        })
        .end(req.method === "HEAD" ? undefined : found.bytes);
    res.writeHead(404, headers).end();
  });
}

const createHashHex = (b: Buffer) => createHash("sha256").update(b).digest("hex");
