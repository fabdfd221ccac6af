// docker-compose.deploy.yml with the compose tool installable here (docker-compose 1.29, `apt-get
// install docker-compose`): both profiles validate from environment variables alone, a missing
// API_SECRET is refused by name, and the socket mode is brought up for real (the agent answers
// /health from its container) and down again. The DinD profile is checked as configuration only:
// no registry is reachable here and no docker:dind image is on this machine to run.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, TEST_SECRET } from "../helpers/agent.js";
import { docker } from "../helpers/docker.js";
import { BUSYBOX_IMAGE, TEST_NAME_PREFIX } from "../helpers/images.js";
import { ensureAgentImage, IMAGE_BUILD_TIMEOUT_MS, REPO_ROOT } from "./agent-image.js";
import { socketGid, socketProblem } from "./agent-container.js";

const run = promisify(execFile);
const COMPOSE_FILE = path.join(REPO_ROOT, "docker-compose.deploy.yml");
/** `up` of one service from a local image, and `down` of it: seconds; a minute is a hang. */
const COMPOSE_TIMEOUT_MS = 60_000;

const hasCompose = await run("docker-compose", ["version"]).then(
  () => true,
  () => false,
);

describe.skipIf(!hasCompose || socketProblem() !== null)("docker-compose.deploy.yml", () => {
  const project = `${TEST_NAME_PREFIX}deploy-${randomBytes(4).toString("hex")}`;
  const network = `${project}-net`;
  let env: Record<string, string>;
  const compose = (args: string[], extra: Record<string, string> = {}) =>
    run("docker-compose", ["-f", COMPOSE_FILE, "-p", project, ...args], {
      // Only what the file reads, plus PATH and the engine's address: nothing else leaks in.
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env, ...extra },
      timeout: COMPOSE_TIMEOUT_MS,
    });

  beforeAll(async () => {
    await docker.createNetwork({ Name: network });
    env = {
      AGENT_IMAGE: await ensureAgentImage(),
      API_SECRET: TEST_SECRET,
      DOCKER_GID: String(await socketGid()),
      AGENT_PORT: String(await freePort()),
      BIND_ADDRESS: "127.0.0.1",
      PUBLISH_ADDRESS: "127.0.0.1",
      DEFAULT_IMAGE: BUSYBOX_IMAGE,
      // No isolation: the host firewall is shared by every test on this machine.
      CONTAINER_NETWORK: network,
    };
  }, IMAGE_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await compose(["--profile", "dind", "down", "-v", "--timeout", "15"]).catch(() => undefined);
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
  });

  it("validates both profiles from environment variables alone, and names a missing API_SECRET", async () => {
    const socket = await compose(["config"]);
    expect(socket.stdout).toContain("network_mode: host");
    expect(socket.stdout).toContain("/var/run/docker.sock:/var/run/docker.sock");
    const dind = await compose(["--profile", "dind", "config"]);
    expect(dind.stdout).toContain("DOCKER_HOST: tcp://docker:2376");
    expect(dind.stdout).toContain("network_mode: service:docker");
    const services = (await compose(["--profile", "dind", "config", "--services"])).stdout.split("\n");
    expect(services).toEqual(expect.arrayContaining(["agent", "docker", "agent-dind"]));
    const refused = await compose(["config"], { API_SECRET: "" }).then(
      () => "",
      (err: { stderr?: string }) => err.stderr ?? "",
    );
    expect(refused).toMatch(/API_SECRET/);
  });

  it("brings the socket mode up for real: the agent answers /health, then goes down", async () => {
    await compose(["up", "-d", "agent"]);
    const url = `http://127.0.0.1:${env.AGENT_PORT}/health`;
    const deadline = Date.now() + 30_000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      status = await fetch(url).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
    const volumes = await docker.listVolumes({ filters: { name: [`${project}_agent-data`] } });
    expect(volumes.Volumes.map((v) => v.Name)).toContain(`${project}_agent-data`);
    await compose(["down", "-v", "--timeout", "15"]);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`com.docker.compose.project=${project}`] },
    });
    expect(left).toEqual([]);
  });
});
