// Covers src/network/port-forwarder.ts on real sockets: a response ended by the container's close
// reaches a client that reads slowly, whole; a client that goes away ends the container's side.
import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { expect, it, onTestFinished } from "vitest";
import { createLogger } from "../../src/lib/logger.js";
import { PortForwarder } from "../../src/network/port-forwarder.js";

async function listen(server: Server): Promise<number> {
  server.listen({ port: 0, host: "127.0.0.1" });
  await once(server, "listening");
  onTestFinished(() => void (server.listening && server.close()));
  return (server.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

async function forwarderTo(targetPort: number): Promise<number> {
  const hostPort = await freePort();
  const forwarder = new PortForwarder("127.0.0.1", createLogger("silent"));
  await forwarder.open({ hostPort, targetIp: "127.0.0.1", targetPort });
  onTestFinished(() => forwarder.closeAll());
  return hostPort;
}

it("8 MiB that the container ends with a close arrive whole at a client that starts reading late", async () => {
  const body = Buffer.alloc(8 * 1024 * 1024, "abcdefgh");
  // Reads the request, writes 8 MiB and closes at once, as a `Connection: close` server does.
  const target = createServer((s) => s.once("data", () => s.end(body)));
  const port = await forwarderTo(await listen(target));
  const socket = connect(port, "127.0.0.1");
  let failed: string | null = null;
  socket.on("error", (err: NodeJS.ErrnoException) => (failed = err.code ?? err.message));
  const closed = once(socket, "close");
  await once(socket, "connect");
  socket.write("GET / HTTP/1.0\r\n\r\n");
  socket.pause();
  await new Promise((r) => setTimeout(r, 500));
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  socket.resume();
  await closed;
  expect(failed).toBeNull();
  expect(Buffer.concat(chunks).equals(body)).toBe(true);
});

it("a client that goes away ends the connection to the container", async () => {
  const gone = new Promise<void>((resolve) => {
    const target = createServer((s) => s.on("close", () => resolve()));
    void listen(target).then(async (targetPort) => {
      const port = await forwarderTo(targetPort);
      const socket = connect(port, "127.0.0.1");
      await once(socket, "connect");
      socket.destroy();
    });
  });
  await gone;
});
