/**
 * The agent on a Docker engine it reaches over TCP with TLS, as Docker-in-Docker is reached: a
 * second engine on this machine (helpers/engines.ts), the agent pointed at it by DOCKER_HOST,
 * DOCKER_TLS_VERIFY and DOCKER_CERT_PATH alone. A setup of the fixture repo reaches `ready`, and
 * the dev server answers at the URL the agent reported; the container and its published port
 * are the second engine's, the main engine knows nothing of it.
 *
 * Limits: the engine is on this machine, so loopback and the engine's host are one address here;
 * that the probe follows the engine's host is pinned by unit tests (unit/engine-address.test.ts).
 * The environment joins the engine's default bridge (CONTAINER_NETWORK=bridge): isolation needs
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

    it("reaches ready, and the dev server answers at the reported URL", async () => {
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
      expect(bindings["3000/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: String(c.hostPort) }]);
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
      expect(last.url).toBe(`http://127.0.0.1:${c.hostPort}`);
      const page = (await (await fetch(last.url!)).json()) as { message: string };
      expect(page.message).toBe("hello from the second engine");
    });
  },
);
