/**
 * Network probes run inside an environment (by exec, as its user), for the isolation tests. One
 * small Node script with four modes, each printing one JSON line:
 *
 *   direct <ip> <port>            a raw TCP connect that ignores every proxy setting: what a
 *                                 process that skips HTTP(S)_PROXY gets ("connected" or the error)
 *   get <url>                     an HTTP GET through the environment's HTTP_PROXY
 *   connect <host:port>           a CONNECT through the proxy: the status line it answers
 *   tls <host> <port> <path>      CONNECT, then TLS to the host (trusting NODE_EXTRA_CA_CERTS,
 *                                 i.e. the agent's egress CA) and a GET: status and body
 *   reset <host:port>             a CONNECT whose connection is reset (RST) at once, as an
 *                                 attacker would do to make the proxy trip over the error
 *
 * Each probe gives up after 3 s.
 */
import type { TestClient } from "./agent.js";
import { ExecResponse } from "../../src/api/contract.js";

const PROBE = `
const net = require("net"), http = require("http"), tls = require("tls");
const [mode, a, b, c] = process.argv.slice(1);
const out = (o) => { console.log(JSON.stringify(o)); process.exit(0); };
setTimeout(() => out({ result: "timeout" }), 3000);
const proxy = new URL(process.env.HTTP_PROXY || "http://127.0.0.1:9");
if (mode === "direct") {
  const s = net.connect({ host: a, port: Number(b) });
  s.on("connect", () => out({ result: "connected" }));
  s.on("error", (e) => out({ result: e.code || e.message }));
} else if (mode === "get") {
  const req = http.request({ host: proxy.hostname, port: proxy.port, path: a, headers: { host: new URL(a).host } }, (res) => {
    let body = ""; res.on("data", (d) => (body += d)); res.on("end", () => out({ status: res.statusCode, denied: res.headers["x-artie-egress-denied"] || null, body }));
  });
  req.on("error", (e) => out({ result: e.code || e.message }));
  req.end();
} else if (mode === "reset") {
  const s = net.connect({ host: proxy.hostname, port: Number(proxy.port) }, () => {
    s.write("CONNECT " + a + " HTTP/1.1\\r\\nHost: " + a + "\\r\\n\\r\\n", () => { s.resetAndDestroy(); out({ result: "reset" }); });
  });
  s.on("error", (e) => out({ result: e.code || e.message }));
} else if (mode === "connect" || mode === "tls") {
  const authority = mode === "connect" ? a : a + ":" + b;
  const s = net.connect({ host: proxy.hostname, port: Number(proxy.port) }, () => s.write("CONNECT " + authority + " HTTP/1.1\\r\\nHost: " + authority + "\\r\\n\\r\\n"));
  s.once("data", (d) => {
    const line = d.toString().split("\\r\\n")[0];
    const denied = (/x-artie-egress-denied: (\\S+)/i.exec(d.toString()) || [])[1] || null;
    if (mode === "connect" || !/ 200 /.test(line)) return out({ line, denied });
    const t = tls.connect({ socket: s, servername: a }, () => t.write("GET " + (c || "/") + " HTTP/1.1\\r\\nHost: " + a + "\\r\\nConnection: close\\r\\n\\r\\n"));
    let body = ""; t.on("data", (x) => (body += x)); t.on("end", () => out({ line, body }));
    t.on("error", (e) => out({ line, tlsError: e.code || e.message }));
  });
  s.on("error", (e) => out({ result: e.code || e.message }));
}
`;

export type ProbeResult = {
  result?: string;
  status?: number;
  denied?: string | null;
  body?: string;
  line?: string;
  tlsError?: string;
};

export async function probe(api: TestClient, id: string, ...args: string[]): Promise<ProbeResult> {
  const res = await api.post(`/api/containers/${id}/exec`, {
    command: ["node", "-e", PROBE, ...args],
    timeout: 10_000,
  });
  if (res.status !== 200) throw new Error(`probe exec failed: ${res.status} ${await res.text()}`);
  const r = ExecResponse.parse(await res.json());
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as ProbeResult;
  } catch {
    throw new Error(`probe printed no result: ${JSON.stringify(r)}`);
  }
}
