/**
 * Wires the agent together and serves it: Docker client, port allocator rebuilt from labels,
 * services, app, HTTP server and WebSockets. `main.ts` calls this with the environment's config;
 * tests call it with their own, on an ephemeral port. `close` is the graceful shutdown: stop
 * accepting, end streams with a clean close, leave undelivered callbacks on disk and every
 * container running (the next start finds them from their labels).
 */
import { serve, type ServerType } from "@hono/node-server";
import type { X509Certificate } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { rootCertificates } from "node:tls";
import path from "node:path";
import { createApp } from "./app.js";
import { SHUTDOWN_DRAIN_MS, SHUTDOWN_IDLE_SWEEP_MS, STARTUP_RECONCILE_WAIT_MS, type Config } from "./config.js";
import { ActivityLog } from "./containers/activity.js";
import { ExecRunner } from "./containers/exec-runner.js";
import { PortAllocator } from "./containers/port-allocator.js";
import { ContainerService } from "./containers/service.js";
import { dockerMessage, DockerClient } from "./docker/client.js";
import { dockerodeOptions } from "./docker/engine-connection.js";
import { EngineEvents } from "./docker/engine-events.js";
import { hostPathOf } from "./docker/self.js";
import { LocalCa } from "./egress/local-ca.js";
import { EgressPolicy } from "./egress/policy.js";
import { EgressProxy } from "./egress/proxy.js";
import { ImagePuller } from "./images/prepull.js";
import { KeyedLock } from "./lib/keyed-lock.js";
import { CapacityReader } from "./maintenance/capacity.js";
import { DiskGuard } from "./maintenance/disk-guard.js";
import { Maintenance } from "./maintenance/maintenance.js";
import { sweepLeftovers } from "./setup/leftovers.js";
import type { Logger } from "./lib/logger.js";
import { Metrics } from "./metrics/metrics.js";
import { EnvironmentNetworks } from "./network/environment-networks.js";
import { installFirewall } from "./network/firewall.js";
import { Isolation } from "./network/isolation.js";
import { PortForwarder } from "./network/port-forwarder.js";
import { CallbackOutbox } from "./report/callbacks.js";
import { ContainerIO } from "./setup/container-io.js";
import { OperationLock } from "./containers/operation-lock.js";
import { VolumeUse } from "./containers/volume-use.js";
import { Redeployer } from "./setup/redeploy.js";
import { Relauncher } from "./setup/relaunch.js";
import { ComeBack } from "./setup/come-back.js";
import { RunSecrets } from "./setup/run-settings.js";
import { RepoCache } from "./setup/repo-cache.js";
import { SetupRunner } from "./setup/runner.js";
import { parseCertificates, readExtraCa, writeTrustBundle } from "./trust/ca-bundle.js";
import { DevServerWatch } from "./watch/dev-server-watch.js";

export type RunningAgent = {
  url: string;
  port: number;
  /** The maintenance sweep (tests); /metrics counts its reports through onReport. */
  maintenance: Maintenance;
  close: () => Promise<void>;
  /** Resolves when no setup runs and no callback is being delivered (tests). */
  idle: () => Promise<void>;
};

export async function startAgent(config: Config, logger: Logger): Promise<RunningAgent> {
  const docker = new DockerClient(logger, dockerodeOptions(config.docker));
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const trust = await startTrust(config, logger, docker);
  await checkRuntime(docker, config.container.runtime, logger);
  const isolation = config.isolation.enabled ? await startIsolation(config, docker, logger, trust) : null;
  if (!isolation) {
    logger.warn({ network: config.container.network }, "network isolation is off: every container joins one network");
  }
  // Counted by what does the work (request log, outbox, setups); gauges read at scrape time.
  const metrics = new Metrics();
  const ports = new PortAllocator(config.portRange);
  // Create, setup, start, restart, stop, redeploy and delete: one at a time per container,
  // whichever asked first (a setup recreates the container, a redeploy may, a stop would cut
  // either short, a delete must not race a create).
  const locks = new OperationLock();
  const containers = new ContainerService(docker, ports, config, logger, isolation, trust.bundle, locks);
  // Serve even while Docker is down: /health says so, and creates wait for the reconcile.
  const stopReconciling = new AbortController();
  const reconciled = containers.reconcileUntilReady(stopReconciling.signal);
  const exec = new ExecRunner(docker, config.container.user, config.container.execOutputLimitBytes);
  const outbox = new CallbackOutbox(config.dataDir, logger, metrics.callbacks);
  // After `ready`: the dev server is watched (health, crashes) and use is recorded.
  const events = new EngineEvents(docker, logger);
  const watch = new DevServerWatch({ config, docker, outbox, events, logger });
  const activity = new ActivityLog();
  containers.observe = (id) => ({ health: watch.health(id), lastActivityMs: activity.lastAt(id) });
  events.subscribe({ event: (e) => e.action === "destroy" && e.agentId && activity.forget(e.agentId) });
  const repoCacheRoot = path.join(config.dataDir, "repo-cache");
  // The agent's own git trusts the operator's CAs; with none it keeps the host's store untouched.
  const gitCaFile = trust.operatorCa.length > 0 ? trust.bundle?.bundleFile : undefined;
  const repos = new RepoCache(repoCacheRoot, config.setup.gitRemoteTemplate, config.setup.cloneTimeoutMs, gitCaFile);
  // Pulled in the background, one at a time; a create or setup needing one being pulled waits.
  const images = new ImagePuller(docker, logger, config.prepullImages);
  const volumeUse = new VolumeUse(config.dataDir);
  containers.images = images;
  containers.volumeUse = volumeUse;
  const io = new ContainerIO(docker, config.container.user);
  // One lock per dependency volume, shared: a redeploy's install and a setup's never overlap.
  const installLocks = new KeyedLock();
  const secrets = new RunSecrets();
  const launch = { config, docker, containers, io, outbox, logger, watch, locks, secrets };
  const setup = new SetupRunner({ ...launch, repos, installLocks, observe: metrics.setups });
  const relaunch = new Relauncher(launch);
  // Containers the engine started again by itself get their dev server back.
  const comeBack = new ComeBack({ ...launch, events, relaunch });
  const redeploy = new Redeployer({ ...launch, repos, installLocks });
  metrics.readFrom({
    containerStates: async () => (await docker.listManaged()).map((c) => c.State),
    outboxDepth: () => outbox.depth(),
    portsInUse: () => ports.heldCount,
    portRange: config.portRange,
    egressDenied: () => containers.egressDenied(),
  });
  await outbox.resume();
  await setup.reportInterrupted();
  // The watch checks what it was watching before the stream starts, so nothing is missed between.
  await watch.start();
  comeBack.start();
  events.start();
  await sweepLeftovers({ dataDir: config.dataDir, repoCacheRoot, checkoutRoot: repos.checkoutRoot }, logger);
  // Records of setups whose container is gone, once Docker answered.
  // Then the containers the engine started again while the agent was away.
  void reconciled.then(async () => {
    await relaunch.sweep().catch((err: unknown) => logger.warn({ err: String(err) }, "could not sweep setup records"));
    await comeBack
      .checkAll()
      .catch((err: unknown) => logger.warn({ err: String(err) }, "could not look for containers to bring back"));
  });
  images.start();
  const disk = new DiskGuard(config, docker, logger);
  const maintenance = new Maintenance({ config, docker, containers, locks, volumeUse, repos, logger });
  maintenance.onReport = metrics.recordPrune;
  maintenance.start();
  const host = { images, maintenance, disk, capacity: new CapacityReader(config, docker, disk) };
  const { app, injectWebSocket, closeStreams } = createApp({
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
    startedAt: Date.now(),
    host,
  });

  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.bindAddress }, () => resolve(s));
  });
  injectWebSocket(server);
  const { port } = server.address() as AddressInfo;
  const bind = config.bindAddress.includes(":") ? `[${config.bindAddress}]` : config.bindAddress;
  logger.info({ address: config.bindAddress, port }, "host agent listening");

  await Promise.race([reconciled, new Promise((r) => setTimeout(r, STARTUP_RECONCILE_WAIT_MS))]);

  const close = async () => {
    stopReconciling.abort();
    comeBack.stop();
    // No new connections from here on (idle keep-alive ones are closed at once); resolves once
    // every request in flight has answered.
    const drained = new Promise<void>((resolve) => server.close(() => resolve()));
    // Logs streams end cleanly, terminals get 1001: both tell their clients to come back later.
    await closeStreams(SHUTDOWN_DRAIN_MS);
    // A connection whose response just ended (a logs stream) turns idle after the close above,
    // and only idle ones at the time of asking are closed: ask again until all are gone.
    const http = server as { closeIdleConnections?: () => void; closeAllConnections?: () => void };
    const sweep = setInterval(() => http.closeIdleConnections?.(), SHUTDOWN_IDLE_SWEEP_MS);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_DRAIN_MS)))]);
    clearTimeout(timer);
    clearInterval(sweep);
    // Whatever is still open after the grace (a slow request) is cut.
    http.closeAllConnections?.();
    // Undelivered callbacks stay on disk (each was written before its first attempt) and are
    // sent at the next start; containers keep running and are found again from their labels.
    await Promise.allSettled([
      images.stop(),
      maintenance.stop(),
      events.stop(),
      watch.stop(),
      outbox.stop(),
      isolation?.close(),
    ]);
    logger.info("host agent stopped; containers left running");
  };
  const idle = async () => {
    await setup.idle();
    await comeBack.idle();
    await relaunch.idle();
    await redeploy.idle();
    await watch.idle();
    await outbox.idle();
  };
  return { url: `http://${bind === "0.0.0.0" ? "127.0.0.1" : bind}:${port}`, port, maintenance, close, idle };
}

/** A configured runtime the engine does not know stops the agent, when the engine answers at all. */
async function checkRuntime(docker: DockerClient, runtime: string, logger: Logger): Promise<void> {
  let known: string[];
  try {
    known = await docker.runtimes();
  } catch (err) {
    logger.warn({ err: dockerMessage(err) }, "cannot ask Docker for its runtimes yet; CONTAINER_RUNTIME unchecked");
    return;
  }
  if (!known.includes(runtime)) {
    const hint = runtime === "runsc" ? " (scripts/ensure-docker.sh registers gVisor with ENABLE_GVISOR=1)" : "";
    throw new Error(
      `CONTAINER_RUNTIME=${runtime} is not a runtime this Docker engine knows (${known.join(", ")})${hint}`,
    );
  }
}

/** True when the egress proxy terminates TLS (to inject EGRESS_CREDENTIALS) and so has a CA. */
const intercepts = (config: Config) => config.isolation.enabled && Object.keys(config.egress.credentials).length > 0;

/**
 * The extra CAs environments trust: EXTRA_CA_CERTS (checked first, so a bad file stops the agent
 * before anything is made) and the egress proxy's CA when it intercepts. Written under DATA_DIR;
 * its `dir` is where the engine finds it (docker/self.ts: the host path when the agent runs in a container).
 */
async function startTrust(config: Config, logger: Logger, docker: DockerClient) {
  const operatorCa = config.trust.extraCaFile ? await readExtraCa(config.trust.extraCaFile) : [];
  const egressCa = intercepts(config) ? await LocalCa.open(path.join(config.dataDir, "egress-ca")) : null;
  const egressCerts = egressCa ? parseCertificates(await egressCa.certificate(), egressCa.certPath) : [];
  const written = await writeTrustBundle(config.dataDir, [...operatorCa, ...egressCerts]);
  // Environments bind-mount the directory: the engine needs it as a path on its own host.
  const bundle = written && { ...written, dir: await hostPathOf(docker, written.dir, logger) };
  if (bundle) {
    logger.info(
      { extra: operatorCa.length, egressProxy: egressCerts.length, dir: bundle.dir },
      "environments trust extra CA certificates",
    );
  }
  return { operatorCa, egressCa, bundle };
}

/**
 * What the egress proxy trusts when it opens TLS to a host it intercepts: Node's roots, the
 * agent's own NODE_EXTRA_CA_CERTS, EXTRA_CA_CERTS and EGRESS_UPSTREAM_CA_FILE. Undefined (Node's
 * defaults, which hold the first two) when neither of the last two is set.
 */
async function upstreamTrust(config: Config, operatorCa: X509Certificate[]): Promise<string[] | undefined> {
  const file = config.egress.upstreamCaFile;
  if (!file && operatorCa.length === 0) return undefined;
  // An explicit `ca` replaces Node's defaults: what Node trusts anyway is added back first.
  const own = process.env.NODE_EXTRA_CA_CERTS ? [await readFile(process.env.NODE_EXTRA_CA_CERTS, "utf8")] : [];
  return [
    ...rootCertificates,
    ...own,
    ...operatorCa.map((c) => c.toString()),
    ...(file ? [await readFile(file, "utf8")] : []),
  ];
}

/** Host firewall, egress proxy (with its CA when it injects credentials) and environment networks. */
async function startIsolation(
  config: Config,
  docker: DockerClient,
  logger: Logger,
  trust: { operatorCa: X509Certificate[]; egressCa: LocalCa | null },
): Promise<Isolation> {
  const { egress } = config;
  await installFirewall(egress.proxyPort, config.isolation.subnets);
  const ca = trust.egressCa;
  const upstreamCa = ca ? await upstreamTrust(config, trust.operatorCa) : undefined;
  const proxy = new EgressProxy(
    new EgressPolicy({ ...egress, environmentSubnets: config.isolation.subnets }),
    egress.proxyPort,
    ca ? { headers: egress.credentials, ca, upstreamCa } : null,
    logger,
  );
  return new Isolation(
    new EnvironmentNetworks(docker, config.isolation.subnets, logger),
    new PortForwarder(config.publishAddress, logger),
    proxy,
    { proxyPort: egress.proxyPort },
    logger,
  );
}
