/**
 * Environments the engine starts again by itself come back whole, on a Docker engine of their
 * own (helpers/engines.ts, engine COME_BACK_ENGINE) that the test restarts, never the main one:
 * - its container's main process killed from outside (a crash: no `kill` event, a `die`), the
 *   engine starts the container again (restart policy on-failure) and the agent brings the dev
 *   server back with the settings of its setup (FIXTURE_ENV's value kept in the agent's memory:
 *   neither the workspace nor DATA_DIR holds it), reporting `starting`, then `ready`;
 * - a dockerd restart without live-restore stops every container and starts those whose policy
 *   says so: the environment comes back with its dev server, a running pool container is up
 *   again, and one the agent stopped stays stopped (its policy set to "no" by the stop);
 * - a dockerd restart with live-restore keeps the container and its dev server running: no
 *   crash is reported (the engine forgets the dev server's exec; the watch goes on by health),
 *   nothing is brought back, the dev server answers throughout and its health stays answering.
 * - after the agent itself restarted (a new instance, its memory empty), a crash of the container
 *   is not answered with a dev server without its variables: an `error` with reason
 *   `needs-relaunch` asks the control plane to restart it, and that restart (with a body, as the
 *   control plane sends it) brings it back.
 * One environment goes through all four, in order (a setup costs tens of seconds).
 *
 * Limits: the engine's host is a network namespace of this machine (remote-engine.int.test.ts
 * says what that leaves out); without isolation (CONTAINER_NETWORK=bridge). The OOM loop the
 * restart policy's maximum bounds is not exercised here.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerDetails, ExecResponse } from "../src/api/contract.js";
import { CONTAINER_RESTART_MAX_RETRIES } from "../src/config.js";
import { createContainer, startTestAgent } from "./helpers/agent.js";
import { startReceiver, type Receiver } from "./helpers/callback-receiver.js";
import { startTestEngine, type TestEngine } from "./helpers/engines.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { BUSYBOX_IMAGE, NODE_IMAGE } from "./helpers/images.js";
import { ARTIFACT_LABEL } from "../src/setup/artifact-names.js";

const SECRET = "callback-secret-come-back-0123";
const REPO = "acme/come-back";
/** The variable's value: distinctive, so a search of the workspace and DATA_DIR finds only it. */
const VALUE = "kept-in-memory-7c41d9e2";
/** Its own engine: remote-engine.int.test.ts uses 1. */
const COME_BACK_ENGINE = 2;
/** A setup of the fixture (install included), and a come-back (start and probe), at most. */
const SETUP_WAIT_MS = 90_000;
const COME_BACK_WAIT_MS = 60_000;
/** How long after a live-restore restart a false crash report would have arrived by. */
const QUIET_MS = 12_000;

const started = await startTestEngine(COME_BACK_ENGINE, [NODE_IMAGE, BUSYBOX_IMAGE]);
const skipped = "unavailable" in started ? started.unavailable : null;
if (skipped) console.warn(`come-back.int.test.ts skipped: a second Docker engine cannot start here: ${skipped}`);

describe.skipIf(skipped !== null)(
  `environments the engine starts again come back whole${skipped ? ` (skipped: ${skipped})` : ""}`,
  () => {
    let engine: TestEngine;
    let fixtures: FixtureRoot;
    let receiver: Receiver;
    let agent: Awaited<ReturnType<typeof startTestAgent>>;
    let env: { id: string; hostPort: number };
    let agentEnv: Record<string, string>;

    const mine = () => receiver.received.filter((r) => r.body.containerId === env.id).map((r) => r.body);
    const inspect = () => engine.docker.getContainer(`artie-${env.id}`).inspect();
    const page = async () => {
      const res = await fetch(`http://${engine.host}:${env.hostPort}/`, { signal: AbortSignal.timeout(5_000) });
      return (await res.json()) as { message: string; env: string | null };
    };
    const details = async (id: string) =>
      ContainerDetails.parse(await (await agent.api.get(`/api/containers/${id}`)).json());

    /** Waits for a ready after the first `from` callbacks: they must be [error,] starting, ready. */
    async function comesBack(from: number) {
      await receiver.waitFor(
        () =>
          mine()
            .slice(from)
            .some((b) => b.phase === "ready"),
        COME_BACK_WAIT_MS,
      );
      await agent.idle();
      const since = mine().slice(from);
      const phases = since.map((b) => b.phase);
      // A crash report may come first (the watch saw the container die); the come-back follows it.
      expect(
        phases.filter((p) => p !== "error"),
        JSON.stringify(since),
      ).toEqual(["starting", "ready"]);
      expect(phases.at(-1)).toBe("ready");
      expect(await page()).toEqual(expect.objectContaining({ message: "hello again", env: VALUE }));
    }

    /** The files under `dir` on this machine that contain the variable's value. */
    async function holdingValue(dir: string): Promise<string[]> {
      const found: string[] = [];
      for (const f of await readdir(dir, { recursive: true, withFileTypes: true })) {
        if (!f.isFile()) continue;
        const file = path.join(f.parentPath, f.name);
        if ((await readFile(file)).includes(VALUE)) found.push(file);
      }
      return found;
    }

    beforeAll(async () => {
      if (!("engine" in started)) return;
      engine = started.engine;
      fixtures = await fixtureRoot();
      await fixtures.createRepo(REPO, { main: { message: "hello again", greetVersion: "1.0.0" } });
      receiver = await startReceiver(SECRET);
      agentEnv = {
        ...engine.env,
        PUBLISH_ADDRESS: "0.0.0.0",
        CONTAINER_NETWORK: "bridge",
        DEFAULT_IMAGE: NODE_IMAGE,
        GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
        DATA_DIR: fixtures.root + "/agent-data",
        CONTAINER_MEMORY_MB: "512",
        SETUP_START_TIMEOUT_MS: "20000",
      };
      agent = await startTestAgent(agentEnv);
    }, SETUP_WAIT_MS);
    afterAll(async () => {
      await agent?.close();
      await receiver?.close();
      await fixtures?.dispose();
      if (engine) {
        // Everything made on the engine: its data root outlives it, and on-failure would start them again.
        for (const c of await engine.docker.listContainers({ all: true }))
          await engine.docker
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .catch(() => undefined);
        const filters = { label: [`${ARTIFACT_LABEL.repo}=${REPO}`] };
        for (const v of (await engine.docker.listVolumes({ filters })).Volumes ?? [])
          await engine.docker
            .getVolume(v.Name)
            .remove({ force: true })
            .catch(() => undefined);
        await engine.stop();
      }
    }, 120_000);

    it(
      "brings the dev server back after the container's main process is killed",
      async () => {
        env = await createContainer(agent.api, { image: NODE_IMAGE });
        const res = await agent.api.post(`/api/containers/${env.id}/setup`, {
          callbackUrl: receiver.url,
          callbackSecret: SECRET,
          repo: REPO,
          branch: "main",
          envVars: { FIXTURE_ENV: VALUE },
        });
        expect(res.status).toBe(202);
        await receiver.waitFor(() => mine().some((b) => b.phase === "ready" || b.phase === "error"), SETUP_WAIT_MS);
        expect(mine().at(-1)?.phase, JSON.stringify(mine().at(-1))).toBe("ready");
        // The value rests on no disk: not in the workspace (the engine's volume), not in DATA_DIR.
        const grep = await agent.api.post(`/api/containers/${env.id}/exec`, {
          command: ["grep", "-rlF", "--", VALUE, "/app"],
        });
        const found = ExecResponse.parse(await grep.json());
        expect([found.exitCode, found.stdout]).toEqual([1, ""]);
        expect(await holdingValue(agentEnv.DATA_DIR!)).toEqual([]);
        expect((await inspect()).HostConfig.RestartPolicy).toEqual({
          Name: "on-failure",
          MaximumRetryCount: CONTAINER_RESTART_MAX_RETRIES,
        });
        const before = await inspect();
        // A crash: the main process dies of SIGKILL from outside Docker's API (no `kill` event).
        const from = mine().length;
        process.kill(before.State.Pid, "SIGKILL");
        await comesBack(from);
        const after = await inspect();
        expect(after.State.StartedAt).not.toBe(before.State.StartedAt);
        expect(after.RestartCount).toBe(1);
        expect((await details(env.id)).health).toBe("answering");
      },
      SETUP_WAIT_MS + COME_BACK_WAIT_MS,
    );

    it(
      "brings the environment back after a dockerd restart without live-restore; a stopped container stays stopped",
      async () => {
        const pooled = await createContainer(agent.api, { image: BUSYBOX_IMAGE });
        const stopped = await createContainer(agent.api, { image: BUSYBOX_IMAGE });
        expect((await agent.api.post(`/api/containers/${stopped.id}/stop`)).status).toBe(200);
        const from = mine().length;
        await engine.restart();
        await comesBack(from);
        const state = async (id: string) => (await engine.docker.getContainer(`artie-${id}`).inspect()).State;
        expect((await state(pooled.id)).Running).toBe(true);
        expect((await state(stopped.id)).Running).toBe(false);
        // No setup: nothing was brought back in them, nothing reported.
        const theirs = receiver.received.filter((r) => [pooled.id, stopped.id].includes(r.body.containerId));
        expect(theirs).toEqual([]);
      },
      COME_BACK_WAIT_MS * 2,
    );

    it(
      "keeps the dev server through a dockerd restart with live-restore, and reports no crash",
      async () => {
        // The engine runs with live-restore from here: switching is itself a restart without it.
        const from = mine().length;
        await engine.restart({ liveRestore: true });
        await comesBack(from);
        const before = await inspect();
        const count = mine().length;
        await engine.restart({ liveRestore: true });
        const after = await inspect();
        expect(after.State.StartedAt).toBe(before.State.StartedAt);
        expect(await page()).toEqual(expect.objectContaining({ env: VALUE }));
        // Past the agent's reconnect, a settle and two health checks: a false report would be here.
        await new Promise((r) => setTimeout(r, QUIET_MS));
        await agent.idle();
        expect(mine().slice(count)).toEqual([]);
        expect((await details(env.id)).health).toBe("answering");
        expect(await page()).toEqual(expect.objectContaining({ env: VALUE }));
      },
      COME_BACK_WAIT_MS * 2,
    );

    it(
      "asks the control plane to relaunch a container the engine restarted after the agent restarted",
      async () => {
        // A new agent on the same engine and DATA_DIR: the variables it held in memory are gone.
        await agent.close();
        agent = await startTestAgent(agentEnv);
        const from = mine().length;
        process.kill((await inspect()).State.Pid, "SIGKILL");
        const asked = () =>
          mine()
            .slice(from)
            .find((b) => b.reason === "needs-relaunch");
        await receiver.waitFor(() => asked() !== undefined, COME_BACK_WAIT_MS);
        await agent.idle();
        expect(asked()?.phase).toBe("error");
        expect(asked()?.error).toContain("host agent was not running");
        // No dev server without its variables.
        expect(
          mine()
            .slice(from)
            .filter((b) => b.phase === "starting" || b.phase === "ready"),
        ).toEqual([]);
        await expect(page()).rejects.toThrow();
        // What the control plane then does: a restart with the repo's settings.
        const count = mine().length;
        const res = await agent.api.post(`/api/containers/${env.id}/restart`, {
          callbackUrl: receiver.url,
          callbackSecret: SECRET,
          envVars: { FIXTURE_ENV: VALUE },
        });
        expect(res.status).toBe(202);
        await comesBack(count);
      },
      COME_BACK_WAIT_MS * 2,
    );
  },
);
