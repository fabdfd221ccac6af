/**
 * The agent's app wired like server.ts over the in-memory engine (fake-docker.ts), for tests over
 * `app.request()`. No test with it starts a setup, so nothing touches disk or git. `logger`
 * defaults to a silent one; give one writing to a capture to read what a request logs.
 */
import path from "node:path";
import { createApp } from "../../src/app.js";
import { ActivityLog } from "../../src/containers/activity.js";
import { ExecRunner } from "../../src/containers/exec-runner.js";
import { OperationLock } from "../../src/containers/operation-lock.js";
import { PortAllocator } from "../../src/containers/port-allocator.js";
import { ContainerService } from "../../src/containers/service.js";
import { EngineEvents } from "../../src/docker/engine-events.js";
import { KeyedLock } from "../../src/lib/keyed-lock.js";
import { createLogger, type Logger } from "../../src/lib/logger.js";
import { Metrics } from "../../src/metrics/metrics.js";
import { CallbackOutbox } from "../../src/report/callbacks.js";
import { ContainerIO } from "../../src/setup/container-io.js";
import { Redeployer } from "../../src/setup/redeploy.js";
import { Relauncher } from "../../src/setup/relaunch.js";
import { RunSecrets } from "../../src/setup/run-settings.js";
import { RepoCache } from "../../src/setup/repo-cache.js";
import { SetupRunner } from "../../src/setup/runner.js";
import { DevServerWatch } from "../../src/watch/dev-server-watch.js";
import { FakeDocker } from "./fake-docker.js";
import { TEST_SECRET, testConfig } from "./fixtures.js";

export async function testApp({
  reconcile = true,
  env = {},
  logger = createLogger("silent"),
}: { reconcile?: boolean; env?: Record<string, string>; logger?: Logger } = {}) {
  const docker = new FakeDocker();
  const config = testConfig(env);
  const ports = new PortAllocator(config.portRange);
  const locks = new OperationLock();
  const containers = new ContainerService(docker, ports, config, logger, null, null, locks);
  if (reconcile) await containers.reconcile();
  const exec = new ExecRunner(docker, config.container.user, config.container.execOutputLimitBytes);
  const io = new ContainerIO(docker, config.container.user);
  const metrics = new Metrics();
  const outbox = new CallbackOutbox(config.dataDir, logger, metrics.callbacks);
  // Never started: no event stream, no health checks.
  const watch = new DevServerWatch({ config, docker, outbox, events: new EngineEvents(docker, logger), logger });
  const activity = new ActivityLog();
  containers.observe = (id) => ({ health: watch.health(id), lastActivityMs: activity.lastAt(id) });
  const repos = new RepoCache(path.join(config.dataDir, "repo-cache"), config.setup.gitRemoteTemplate, 1_000);
  const launch = { config, docker, containers, io, outbox, logger, watch, locks, secrets: new RunSecrets() };
  const deps = { ...launch, repos, installLocks: new KeyedLock() };
  const setup = new SetupRunner({ ...deps, observe: metrics.setups });
  const relaunch = new Relauncher(launch);
  const redeploy = new Redeployer(deps);
  metrics.readFrom({
    containerStates: async () => (await docker.listManaged()).map((c) => c.State),
    outboxDepth: () => outbox.depth(),
    portsInUse: () => ports.heldCount,
    portRange: config.portRange,
    egressDenied: () => containers.egressDenied(),
  });
  const { app } = createApp({
    config,
    docker,
    containers,
    exec,
    setup,
    relaunch,
    redeploy,
    activity,
    logger,
    metrics,
    startedAt: Date.now() - 5_000,
  });
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${TEST_SECRET}`, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
  return { app, docker, call, metrics, activity };
}
