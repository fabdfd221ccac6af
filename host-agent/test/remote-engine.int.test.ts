/**
 * The agent on a Docker engine on another host, reached over TCP with TLS as Docker-in-Docker is:
 * a second engine in a network namespace of its own (helpers/engines.ts), the agent pointed at it
 * by DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH alone, so config judges it not on this
 * machine. Its published ports answer on its address (10.198.N.2) and not on this machine's
 * loopback, as another host's do: a setup of the fixture repo reaches `ready` only if the
 * readiness probe goes to the engine's host (docker/engine-address.ts; probing loopback, as the
 * agent once did, times the setup out), the reported URL names that host (PUBLIC_HOST unset) and
 * the dev server answers there, and the same port on 127.0.0.1 is refused. The container and its
 * published port are the second engine's, the main engine knows nothing of it.
 *
 * Limits: the other "host" is a namespace of this machine's kernel, reached over a veth pair, not
 * over a real network or a name (DOCKER_HOST names an address; a name is resolved like any other
 * by dockerode and fetch). The environment joins the engine's default bridge (CONTAINER_NETWORK=bridge): isolation needs
 * the engine's networks on the agent's machine and a host firewall, which this --iptables=false
 * engine leaves to the agent; it is not exercised here. The repo is cloned by the agent on this
 * machine (file://), so no container reaches a git server.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createContainer, startTestAgent } from "./helpers/agent.js";
import { startReceiver, type Receiver } from "./helpers/callback-receiver.js";
import { docker as mainEngine } from "./helpers/docker.js";
import { startTestEngine, type TestEngine } from "./helpers/engines.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { BUSYBOX_IMAGE, NODE_IMAGE } from "./helpers/images.js";
import { ARTIFACT_LABEL } from "../src/setup/artifact-names.js";

const SECRET = "callback-secret-0123456789";
const REPO = "acme/remote-engine";
const ENGINE = 1;
/** A dev server that is up answers at once; a port nobody serves is refused at once. */
const FETCH_TIMEOUT_MS = 5_000;

const started = await startTestEngine(ENGINE, [NODE_IMAGE, BUSYBOX_IMAGE]);
const skipped = "unavailable" in started ? started.unavailable : null;
if (skipped) console.warn(`remote-engine.int.test.ts skipped: a second Docker engine cannot start here: ${skipped}`);

describe.skipIf(skipped !== null)(
  `agent on a second engine over TCP with TLS${skipped ? ` (skipped: ${skipped})` : ""}`,
  () => {
    let engine: TestEngine;
    let fixtures: FixtureRoot;
    let receiver: Receiver;
    let agent: Awaited<ReturnType<typeof startTestAgent>>;

    beforeAll(async () => {
      if (!("engine" in started)) return;
      engine = started.engine;
      fixtures = await fixtureRoot();
      await fixtures.createRepo(REPO, { main: { message: "hello from the second engine", greetVersion: "1.0.0" } });
      receiver = await startReceiver(SECRET);
      agent = await startTestAgent({
        ...engine.env,
        // Wildcard, as on a remote engine (a loopback one is refused there): the probe and the
        // reported URL then follow DOCKER_HOST. PUBLIC_HOST stays unset.
        PUBLISH_ADDRESS: "0.0.0.0",
        CONTAINER_NETWORK: "bridge",
        DEFAULT_IMAGE: NODE_IMAGE,
        GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
        DATA_DIR: fixtures.root + "/agent-data",
        CONTAINER_MEMORY_MB: "512",
        SETUP_START_TIMEOUT_MS: "20000",
      });
    });
    afterAll(async () => {
      await agent?.close();
      await receiver?.close();
      await fixtures?.dispose();
      if (engine) {
        // What the setup made on the engine (dependency volume, main image), then the engine.
        const filters = { label: [`${ARTIFACT_LABEL.repo}=${REPO}`] };
        for (const v of (await engine.docker.listVolumes({ filters })).Volumes ?? [])
          await engine.docker
            .getVolume(v.Name)
            .remove({ force: true })
            .catch(() => undefined);
        await engine.stop();
      }
    });

    it("reaches ready, the dev server answers at the reported URL on the engine's host, not on loopback", async () => {
      expect(agent.config.docker).toMatchObject({ kind: "tcp", host: engine.host, onThisMachine: false });
      const c = await createContainer(agent.api, { image: NODE_IMAGE });
      onTestFinished(() =>
        engine.docker
          .getContainer(`artie-${c.id}`)
          .remove({ force: true })
          .catch(() => undefined),
      );
      // The agent made it on the second engine, with the port that engine published.
      const info = await engine.docker.getContainer(`artie-${c.id}`).inspect();
      const bindings = info.HostConfig.PortBindings as Record<string, Array<{ HostIp: string; HostPort: string }>>;
      expect(bindings["3000/tcp"]).toEqual([{ HostIp: "0.0.0.0", HostPort: String(c.hostPort) }]);
      await expect(mainEngine.getContainer(`artie-${c.id}`).inspect()).rejects.toMatchObject({ statusCode: 404 });

      const res = await agent.api.post(`/api/containers/${c.id}/setup`, {
        callbackUrl: receiver.url,
        callbackSecret: SECRET,
        repo: REPO,
        branch: "main",
      });
      expect(res.status).toBe(202);
      const done = await receiver.waitFor((rs) =>
        rs.some((r) => r.body.containerId === c.id && ["ready", "error"].includes(r.body.phase)),
      );
      const mine = done.filter((r) => r.body.containerId === c.id);
      const last = mine.at(-1)!.body;
      expect(last.phase, last.phase === "error" ? JSON.stringify(last) : "").toBe("ready");
      expect(mine.map((r) => r.body.phase)).toEqual(["cloning", "installing", "starting", "ready"]);
      expect(last.url).toBe(`http://${engine.host}:${c.hostPort}`);
      const page = (await (await fetch(last.url!, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })).json()) as {
        message: string;
      };
      expect(page.message).toBe("hello from the second engine");
      // Where the agent once probed: nothing of the engine's answers on this machine's loopback.
      const onLoopback = await fetch(`http://127.0.0.1:${c.hostPort}/`, {
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      }).then(
        (r) => `answered ${r.status}`,
        (err: Error) => (err.cause as { code?: string } | undefined)?.code ?? err.name,
      );
      expect(onLoopback).toBe("ECONNREFUSED");
    });
  },
);
