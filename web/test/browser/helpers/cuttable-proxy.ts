/**
 * A loopback TCP proxy in front of the agent whose open connections a test can cut at once,
 * the way a flaky network drops a long-lived stream. New connections keep working.
 */
import net, { type AddressInfo } from "node:net";

export type CuttableProxy = { url: string; cut: () => number; close: () => Promise<void> };

export async function cuttableProxy(targetPort: number): Promise<CuttableProxy> {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    cut: () => {
      const n = open.size;
      open.forEach((s) => s.destroy());
      return n;
    },
    close: async () => {
      open.forEach((s) => s.destroy());
      await new Promise((r) => server.close(r));
    },
  };
}
