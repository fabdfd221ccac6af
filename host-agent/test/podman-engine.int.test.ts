/**
 * What the agent does for Podman's Docker API (README "Podman"), against a real one: vitest
 * project `podman` runs it there; under project `docker` it is skipped, the engine being Docker.
 * Covers the runtime check (Podman ignores HostConfig.Runtime, so runsc must stop the agent) and
 * its event names read as Docker's (docker/engine-events.ts).
 */
import { afterAll, describe, expect, it } from "vitest";
import { DockerClient } from "../src/docker/client.js";
import { EngineEvents, type EngineEvent } from "../src/docker/engine-events.js";
import { LABEL } from "../src/docker/labels.js";
import { createLogger } from "../src/lib/logger.js";
import { startTestAgent, uniqueName } from "./helpers/agent.js";
import { docker } from "./helpers/docker.js";
import { BUSYBOX_IMAGE } from "./helpers/images.js";

const logger = createLogger("silent");
const client = new DockerClient(logger);
const onPodman = await client.isPodman();

describe.skipIf(!onPodman)("on Podman's Docker API", () => {
  const events = new EngineEvents(client, logger);
  afterAll(() => events.stop());

  it("refuses CONTAINER_RUNTIME=runsc, which Podman would ignore and run under runc", async () => {
    expect(await client.runtimes()).toEqual(["runc"]);
    await expect(startTestAgent({ CONTAINER_RUNTIME: "runsc" })).rejects.toThrow(/CONTAINER_RUNTIME=runsc/);
  });

  it("reads Podman's die and remove events of a managed container as Docker's die and destroy", async () => {
    const seen: EngineEvent[] = [];
    let connected = false;
    events.subscribe({ event: (e) => seen.push(e), connected: () => (connected = true) });
    events.start();
    await expect.poll(() => connected, { timeout: 10_000 }).toBe(true);
    const { name, id } = uniqueName("pm-events");
    const container = await docker.createContainer({
      name,
      Image: BUSYBOX_IMAGE,
      Cmd: ["sleep", "60"],
      Labels: { [LABEL.managed]: "true", [LABEL.id]: id, [LABEL.name]: name },
    });
    await container.start();
    await container.remove({ force: true });
    const mine = () => seen.filter((e) => e.dockerId === container.id).map((e) => e.action);
    await expect.poll(mine, { timeout: 10_000 }).toEqual(expect.arrayContaining(["die", "destroy"]));
    expect(seen.find((e) => e.action === "die" && e.dockerId === container.id)?.agentId).toBe(id);
  });
});
