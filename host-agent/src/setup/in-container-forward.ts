/**
 * Forwards the environment's port, inside the container, to where the dev server really listens
 * (listeners.ts found it: another port, or loopback only). A small constant Node script runs as
 * an exec carrying the setup's tag, so killTagged ends it together with the dev server; the
 * agent's own port publishing (network/port-forwarder.ts, or Docker's) needs no change, since
 * the environment's port answers in the container as if the dev server listened there.
 *
 * The forwarder's output is its own: it never goes to the dev server's tail. The agent reads it
 * only until the forwarder says it listens (or fails, which the returned promise reports), then
 * stops reading, as it does for the dev server. Left out: choosing the target, and any protocol
 * awareness (it is TCP-level, so HTTP, WebSockets and hot reload pass unchanged).
 */
import { Writable } from "node:stream";
import {
  EXEC_ERROR_TEXT_MAX_BYTES,
  FORWARD_CLOSE_GRACE_MS,
  FORWARD_START_TIMEOUT_MS,
  OUTPUT_LINE_MAX_BYTES,
} from "../config.js";
import { tagEnv } from "../containers/exec-tag.js";
import type { DockerClient } from "../docker/client.js";
import { BoundedCollector, LineCutter } from "../lib/bounded-reader.js";
import { drain, exitCode } from "./container-io.js";

/**
 * `node -e FORWARDER port host targetPort graceMs`. Listens on the port on every address it can:
 * `::` dual-stack first, `0.0.0.0` when the kernel or container has no IPv6; and when a loopback
 * address already holds the port (a dev server on 127.0.0.1:<the environment's port>), on each
 * non-loopback interface address instead, which a wildcard bind would conflict with. Each
 * connection is piped both ways to host:targetPort (pipe: a side whose peer stops reading is
 * paused, so nothing buffers without limit; an end travels as an end). An error on either side
 * cuts both; a close lets the other side finish writing for graceMs, then cuts it. Prints
 * `listening <pid> <address,...>` once it listens; before that a failure is `error <code> <message>`
 * on stderr with exit status 2; after it, one line in the container log (PID 1's stdout) and exit 1.
 */
export const FORWARDER = [
  'const net=require("net"),os=require("os"),fs=require("fs");',
  "const port=Number(process.argv[1]),host=process.argv[2],tport=Number(process.argv[3]),grace=Number(process.argv[4]);",
  'const log=(s)=>{try{fs.appendFileSync("/proc/1/fd/1","[forward] "+s+"\\n")}catch{}};',
  "function relay(c){const u=net.connect({host,port:tport});c.setNoDelay(true);u.setNoDelay(true);",
  "const cut=()=>{c.destroy();u.destroy()};",
  'for(const[a,b]of[[c,u],[u,c]]){a.on("error",cut);a.on("close",()=>{if(!b.destroyed){b.end();setTimeout(()=>b.destroy(),grace).unref()}});a.pipe(b)}}',
  'const listen=(h)=>new Promise((res,rej)=>{const s=net.createServer(relay);s.once("error",rej);',
  's.listen({host:h,port,ipv6Only:false},()=>{s.off("error",rej);s.on("error",(e)=>{log("port "+port+" stopped: "+e.message);process.exit(1)});res(h)})});',
  "const soft=(e,...codes)=>{if(!codes.includes(e.code))throw e};",
  "async function main(){const on=[];",
  'try{on.push(await listen("::"))}catch(e){soft(e,"EAFNOSUPPORT","EADDRNOTAVAIL","EADDRINUSE");',
  'if(e.code!=="EADDRINUSE")try{on.push(await listen("0.0.0.0"))}catch(e2){soft(e2,"EADDRINUSE")}}',
  "if(!on.length)for(const a of Object.values(os.networkInterfaces()).flat()){",
  'if(!a||a.internal||(a.family==="IPv6"&&a.scopeid))continue;',
  'try{on.push(await listen(a.address))}catch(e){soft(e,"EADDRINUSE","EADDRNOTAVAIL")}}',
  'if(!on.length)throw Object.assign(new Error("port "+port+" is already taken in the container"),{code:"EADDRINUSE"});',
  'process.stdout.write("listening "+process.pid+" "+on.join(",")+"\\n")}',
  'main().catch((e)=>{process.stderr.write("error "+(e.code||"-")+" "+e.message+"\\n");process.exit(2)});',
].join("\n");

export type Forward = {
  /** The forwarder's pid in the container: its own socket shows up in findListeners too. */
  pid: number;
  /** The addresses it listens on (port: the environment's). */
  addresses: string[];
};

/** Exec exit statuses for "the command does not exist", from Docker (126) and a shell (127). */
const NOT_FOUND = new Set([126, 127]);

/**
 * Starts the forwarder from the environment's `port` to `to` in the container, as `user`, under
 * `tag`; resolves once it listens. Rejects, saying why, when the image has no node, the port is
 * taken, or it does not listen within FORWARD_START_TIMEOUT_MS (a forwarder that is late keeps
 * running until killTagged ends it with the rest of the setup's processes).
 */
export async function startForward(
  docker: DockerClient,
  dockerId: string,
  user: string,
  tag: string,
  port: number,
  to: { address: string; port: number },
): Promise<Forward> {
  const what = `forwarding port ${port} to ${to.address.includes(":") ? `[${to.address}]` : to.address}:${to.port}`;
  const { exec, stream } = await docker.exec(dockerId, {
    cmd: ["node", "-e", FORWARDER, String(port), to.address, String(to.port), String(FORWARD_CLOSE_GRACE_MS)],
    user,
    // NODE_OPTIONS emptied: the image's or the repo's (--require a hook) is not the forwarder's.
    env: [tagEnv(tag), "NODE_OPTIONS="],
    tty: false,
    stdin: false,
  });
  let ready: (f: Forward) => void = () => undefined;
  const listening = new Promise<Forward>((resolve) => (ready = resolve));
  // Only the first line matters; the cutter keeps any line, however long, to a bounded size.
  const lines = new LineCutter(OUTPUT_LINE_MAX_BYTES, (line) => {
    const m = /^listening (\d+) (\S+)$/.exec(line);
    if (m) ready({ pid: Number(m[1]), addresses: m[2]!.split(",") });
  });
  // What it said, both streams (Docker reports a missing executable on stdout), for a failure.
  const said = new BoundedCollector(EXEC_ERROR_TEXT_MAX_BYTES);
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk);
      said.write(chunk);
      cb();
    },
  });
  docker.demux(stream, out, said);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} failed: it did not listen within ${FORWARD_START_TIMEOUT_MS / 1000} s`)),
      FORWARD_START_TIMEOUT_MS,
    );
  });
  try {
    const ended = drain(stream).then(() => null);
    const forward = await Promise.race([listening, ended, late]);
    if (forward) return forward;
    throw new Error(`${what} failed: ${whyEnded(await exitCode(exec), said.text().trim())}`);
  } finally {
    clearTimeout(timer);
    // Listening or failed, the agent has no more use for the output: stop reading it.
    stream.destroy();
  }
}

/** Why the forwarder ended before it listened, from its exit status and what it said. */
function whyEnded(code: number | null, said: string): string {
  const reason = /^error (\S+) (.*)$/m.exec(said);
  if (reason) return reason[2]!;
  if (code !== null && NOT_FOUND.has(code))
    return `the image has no node on its PATH (${said.slice(-300) || `exit ${code}`})`;
  return said.slice(-300) || `it exited with code ${code ?? "unknown"}`;
}
