// Runs src/setup/in-container-forward.ts's FORWARDER script as a real node process on this host
// (as it runs in a container; it listens on the wildcard, as there), with real sockets on
// 127.0.0.1 on the other side: it relays both ways, a response ended by a close arrives whole at
// a client that starts reading late, a target that refuses costs only that connection, and a
// taken port is a one-line error with status 2.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer, connect, type AddressInfo, type Server } from "node:net";
import { expect, it, onTestFinished } from "vitest";
import { FORWARDER } from "../../src/setup/in-container-forward.js";

async function listen(server: Server, host = "127.0.0.1"): Promise<number> {
  server.listen({ port: 0, host });
  await once(server, "listening");
  onTestFinished(() => void (server.listening && server.close()));
  return (server.address() as AddressInfo).port;
}

/** Ports free on 127.0.0.1 and distinct (each is held until all are found). */
async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  const ports = await Promise.all(servers.map((s) => listen(s)));
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

type Run = { child: ChildProcess; stdout: string; stderr: string; exited: Promise<number | null> };

function forwarder(port: number, targetPort: number): Run {
  const child = spawn(process.execPath, ["-e", FORWARDER, String(port), "127.0.0.1", String(targetPort), "2000"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run: Run = { child, stdout: "", stderr: "", exited: once(child, "exit").then(([code]) => code as number) };
  child.stdout.on("data", (d: Buffer) => (run.stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (run.stderr += d.toString()));
  onTestFinished(() => void child.kill("SIGKILL"));
  return run;
}

async function listening(run: Run): Promise<void> {
  await expect.poll(() => run.stdout, { timeout: 5000, interval: 20 }).toMatch(/^listening \d+ \S+\n$/);
}

/**
 * Sends `text`, waits `pauseMs` before reading, and answers everything read until the close, and
 * whether the connection ended with a reset (a peer that closes with unread data resets).
 */
async function exchange(port: number, text: string, pauseMs = 0): Promise<{ got: Buffer; reset: boolean }> {
  const socket = connect(port, "127.0.0.1");
  let reset = false;
  socket.on("error", (err: NodeJS.ErrnoException) => (reset = err.code === "ECONNRESET"));
  const closed = once(socket, "close");
  await once(socket, "connect");
  socket.write(text);
  socket.pause();
  await new Promise((r) => setTimeout(r, pauseMs));
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  socket.resume();
  await closed;
  return { got: Buffer.concat(chunks), reset };
}

it("relays both ways, and 8 MiB ended by a close arrive whole at a reader that starts late", async () => {
  const body = Buffer.alloc(8 * 1024 * 1024, "abcdefgh");
  // The target reads the request, writes 8 MiB and closes at once, as a `Connection: close` server does.
  const target = createServer((s) => s.once("data", (req: Buffer) => s.end(Buffer.concat([req, body]))));
  const targetPort = await listen(target);
  const [port] = await freePorts(1);
  const run = forwarder(port!, targetPort);
  await listening(run);
  const { got, reset } = await exchange(port!, "hello\n", 500);
  expect(reset).toBe(false);
  expect(got.length).toBe(6 + body.length);
  expect(got.subarray(0, 6).toString()).toBe("hello\n");
  expect(got.subarray(6).equals(body)).toBe(true);
});

it("a target that refuses closes that connection only; the forwarder keeps listening", async () => {
  // Port 1, not a port freed a moment ago: tests running in parallel may be handed that one.
  const [port] = (await freePorts(1)) as [number];
  const run = forwarder(port, 1);
  await listening(run);
  expect((await exchange(port, "anyone?")).got.length).toBe(0);
  expect(run.child.exitCode).toBeNull();
  expect((await exchange(port, "again?")).got.length).toBe(0);
  expect(run.child.exitCode).toBeNull();
});

it("a taken port is a one-line error and exit status 2", async () => {
  // Held on every address: one on loopback only the forwarder would go around (interface addresses).
  const taken = await listen(createServer(), "::");
  const run = forwarder(taken, 1);
  expect(await run.exited).toBe(2);
  expect(run.stderr).toBe(`error EADDRINUSE port ${taken} is already taken in the container\n`);
  expect(run.stdout).toBe("");
});
