/**
 * The dev server fallback's building blocks on the real engine: findListeners picks out exactly
 * the sockets of the processes a setup tagged (IPv4 and IPv6 loopback, not an untagged or
 * otherwise tagged neighbour); startForward makes the environment's published port answer for a
 * server on another port or on loopback only, reports a taken port and an image without node,
 * and ends with killTagged. Processes start the way setup starts a dev server (ContainerIO's
 * startLogged with the tag in their environment).
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { killTagged, newExecTag, tagEnv } from "../src/containers/exec-tag.js";
import { DockerClient } from "../src/docker/client.js";
import { createLogger } from "../src/lib/logger.js";
import { ContainerIO, LineTail } from "../src/setup/container-io.js";
import { startForward } from "../src/setup/in-container-forward.js";
import { connectAddress, describeListener, findListeners, type OwnedListener } from "../src/setup/listeners.js";
import { createContainer, startTestAgent } from "./helpers/agent.js";
import { docker as engine } from "./helpers/docker.js";
import { BUSYBOX_IMAGE, NODE_IMAGE, TEST_NAME_PREFIX } from "./helpers/images.js";

let agent: Awaited<ReturnType<typeof startTestAgent>>;
let docker: DockerClient;
let io: ContainerIO;
let user: string;

beforeAll(async () => {
  agent = await startTestAgent({ DEFAULT_IMAGE: NODE_IMAGE });
  docker = new DockerClient(createLogger("silent"));
  user = agent.config.container.user;
  io = new ContainerIO(docker, user);
});
afterAll(async () => agent?.close());

/** An HTTP server that says where it listens: `node -e SERVER port host`. */
const SERVER =
  'require("http").createServer((q,r)=>r.end("hello from "+process.argv[2]+":"+process.argv[1])).listen(Number(process.argv[1]),process.argv[2])';

/** Starts a server in the container as setup starts a dev server; `tag` null: untagged. */
async function serve(dockerId: string, tag: string | null, port: number, host: string, tail = new LineTail(20)) {
  // Through a shell, as `npm run dev` reaches node: the listener is a child of the tagged exec.
  await io.startLogged(dockerId, "dev", ["sh", "-c", 'node -e "$0" "$@"', SERVER, String(port), host], {
    env: tag ? [tagEnv(tag)] : [],
    tail,
  });
  return tail;
}

const brief = (ls: OwnedListener[]) => ls.map(describeListener);

/** findListeners until it answers `want` (servers take a moment to listen), bounded in time. */
async function listenersUntil(dockerId: string, tag: string, want: string[]): Promise<OwnedListener[]> {
  let found: OwnedListener[] = [];
  await expect
    .poll(async () => brief((found = await findListeners(docker, dockerId, user, tag))), { timeout: 10_000 })
    .toEqual(want);
  return found;
}

async function get(hostPort: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

/**
 * A container hardened as the agent makes them, but with IPv6 on loopback, which Docker turns off
 * on a network without IPv6 (every environment's): the only way to have a [::1] listener.
 */
async function ipv6Container(): Promise<string> {
  const container = await engine.createContainer({
    name: `${TEST_NAME_PREFIX}listeners-v6-${newExecTag()}`,
    Image: NODE_IMAGE,
    Cmd: ["sleep", "300"],
    User: user,
    HostConfig: {
      Init: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      ReadonlyRootfs: true,
      Tmpfs: { "/tmp": "rw,nosuid,nodev,size=16m,mode=1777" },
      NetworkMode: "none",
      Sysctls: { "net.ipv6.conf.all.disable_ipv6": "0", "net.ipv6.conf.lo.disable_ipv6": "0" },
    },
  });
  onTestFinished(async () => void (await container.remove({ force: true }).catch(() => undefined)));
  await container.start();
  return container.id;
}

describe("findListeners", () => {
  it("returns exactly the listeners of the tagged processes, IPv4 and IPv6 loopback", async () => {
    const id = await ipv6Container();
    const tag = newExecTag();
    await serve(id, tag, 5173, "127.0.0.1");
    await serve(id, tag, 4321, "::1");
    await serve(id, null, 9999, "0.0.0.0");
    await serve(id, newExecTag(), 8888, "::");
    const found = await listenersUntil(id, tag, ["[::1]:4321", "127.0.0.1:5173"]);
    expect(found.map((l) => [l.family, l.address, l.port])).toEqual([
      [6, "::1", 4321],
      [4, "127.0.0.1", 5173],
    ]);
    // Two processes (each server is its own node), each holding its own socket.
    expect(new Set(found.map((l) => l.pid)).size).toBe(2);
    expect(found.every((l) => l.pid > 1 && l.inode > 0)).toBe(true);

    await killTagged(docker, id, user, tag);
    expect(await findListeners(docker, id, user, tag)).toEqual([]);
  });

  it("works in a busybox image too (its sh, tr, grep and ls)", async () => {
    const c = await createContainer(agent.api, { image: BUSYBOX_IMAGE });
    const dockerId = `artie-${c.id}`;
    const tag = newExecTag();
    const tail = new LineTail(5);
    await io.startLogged(dockerId, "dev", ["nc", "-l", "-p", "5173"], { env: [tagEnv(tag)], tail });
    await io.startLogged(dockerId, "other", ["nc", "-l", "-p", "6000"], { tail });
    // busybox nc listens on the IPv6 wildcard, dual-stack, even where the container has no IPv6.
    const [l] = await listenersUntil(dockerId, tag, ["[::]:5173"]);
    expect(connectAddress(l!)).toBe("::1");
    await killTagged(docker, dockerId, user, tag);
  });

  it("forwards to an IPv6 loopback listener", async () => {
    const id = await ipv6Container();
    const tag = newExecTag();
    await serve(id, tag, 4321, "::1");
    const [l] = await listenersUntil(id, tag, ["[::1]:4321"]);
    await startForward(docker, id, user, tag, 3000, { address: connectAddress(l!), port: l!.port });
    const tail = new LineTail(5);
    const client = 'fetch("http://127.0.0.1:3000/").then(r=>r.text()).then(t=>console.log(t))';
    expect(await io.run(id, "probe", ["node", "-e", client], { tail, timeoutMs: 10_000, what: "probing" })).toBe(0);
    expect(tail.lines).toEqual(["[probe] hello from ::1:4321"]);
    await killTagged(docker, id, user, tag);
  });
});

describe("startForward", () => {
  it("makes the environment's port answer for a server on another loopback port, until killTagged", async () => {
    const c = await createContainer(agent.api, { image: NODE_IMAGE });
    const dockerId = `artie-${c.id}`;
    const tag = newExecTag();
    const devTail = await serve(dockerId, tag, 5173, "127.0.0.1");
    const [l] = await listenersUntil(dockerId, tag, ["127.0.0.1:5173"]);
    await expect(get(c.hostPort)).rejects.toThrow(); // nothing on the environment's port yet

    const forward = await startForward(docker, dockerId, user, tag, 3000, { address: connectAddress(l!), port: 5173 });
    expect(forward.addresses).toEqual(["::"]);
    expect(await get(c.hostPort)).toBe("hello from 127.0.0.1:5173");
    // The forwarder is the setup's too (same tag): its own socket shows, under its own pid.
    const all = await findListeners(docker, dockerId, user, tag);
    expect(all.filter((x) => x.pid === forward.pid).map(describeListener)).toEqual(["[::]:3000"]);
    // The dev server's tail holds none of the forwarder's output.
    expect(devTail.lines.filter((x) => !x.startsWith("[dev] "))).toEqual([]);

    await expect(startForward(docker, dockerId, user, tag, 3000, { address: "127.0.0.1", port: 5173 })).rejects.toThrow(
      "forwarding port 3000 to 127.0.0.1:5173 failed: port 3000 is already taken in the container",
    );

    await killTagged(docker, dockerId, user, tag);
    await expect(get(c.hostPort)).rejects.toThrow();
    expect(await findListeners(docker, dockerId, user, tag)).toEqual([]);
  });

  it("a server on loopback only at the environment's own port is reached from the container's address", async () => {
    const c = await createContainer(agent.api, { image: NODE_IMAGE });
    const dockerId = `artie-${c.id}`;
    const tag = newExecTag();
    await serve(dockerId, tag, 3000, "127.0.0.1");
    await listenersUntil(dockerId, tag, ["127.0.0.1:3000"]);
    const forward = await startForward(docker, dockerId, user, tag, 3000, { address: "127.0.0.1", port: 3000 });
    const info = await engine.getContainer(dockerId).inspect();
    const ips = Object.values(info.NetworkSettings.Networks).map((n) => n.IPAddress);
    expect(forward.addresses).toEqual(ips);
    expect(await get(c.hostPort)).toBe("hello from 127.0.0.1:3000");
    await killTagged(docker, dockerId, user, tag);
  });

  it("says so when the image has no node", async () => {
    const c = await createContainer(agent.api, { image: BUSYBOX_IMAGE });
    const tag = newExecTag();
    await expect(
      startForward(docker, `artie-${c.id}`, user, tag, 3000, { address: "::1", port: 4321 }),
    ).rejects.toThrow(/^forwarding port 3000 to \[::1\]:4321 failed: the image has no node on its PATH/);
  });
});
