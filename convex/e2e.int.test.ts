/**
 * End to end: the control plane in convex-test, the real host agent, real Docker. Actions'
 * fetch reaches the agent on 127.0.0.1; a small bridge forwards the agent's signed callbacks
 * into `t.fetch`, as Convex's HTTP router would receive them.
 * Runtime to docker -> replenish fills the pool -> request an environment for a fixture repo ->
 * the record reaches `ready` through real callbacks -> the dev server answers -> destroy frees
 * the container and its port. Prints the timeline.
 * Second: a private repo through the GitHub App. The GitHub stand-in on a real HTTP server (JWT
 * verified with the App's public key) and a real smart-HTTP git server that accepts only tokens
 * the stand-in minted for that repo; the admin links the installation through the setup
 * redirect, saves settings with a secret variable, requests; the dev server answers with the
 * variable; the git server saw the token only in the Authorization header; no table or scheduled
 * function's arguments hold the token or the secret; another team's request fails as not linked.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { client, freePort, spawnAgent, testEnv, type SpawnedAgent } from "../host-agent/test/helpers/agent.js";
import { removeRepoArtifacts } from "../host-agent/test/helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "../host-agent/test/helpers/fixture-repo.js";
import { startGitHttpServer, type GitHttpServer } from "../host-agent/test/helpers/git-http-server.js";
import { NODE_IMAGE } from "../host-agent/test/helpers/images.js";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { everythingStored, SETTINGS_KEY } from "./test.githubFixture";
import { serveGitHubStandIn, type ServedStandIn } from "./test.githubServer";
import { generateAppKeys, GitHubStandIn } from "./test.githubStandIn";
import { ALICE, BOB, setupTest } from "./test.setup";

const API_SECRET = "e2e-api-secret-".padEnd(48, "e");
const CALLBACK_SECRET = "e2e-callback-secret-0123456789";
let fixtures: FixtureRoot;
let agent: SpawnedAgent;
let bridge: Server;
let git: GitHttpServer;
let gh: GitHubStandIn;
let github: ServedStandIn;
let appKeyPem: string;
const PRIVATE_REPO = "acme/e2e-private";
const FIXTURE_SECRET = "s3cret-FIXTURE-VALUE-LEAKCHECK";
let t: ReturnType<typeof setupTest>;

beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo("acme/shop", { main: { message: "hello from main", greetVersion: "1.0.0" } });
  await fixtures.createRepo(PRIVATE_REPO, { main: { message: "private main", greetVersion: "1.0.0" } });
  const keys = await generateAppKeys();
  appKeyPem = keys.pkcs1Pem;
  gh = new GitHubStandIn({
    appId: "4242",
    clientId: "Iv23liE2E",
    clientSecret: "e2e-client-secret-0123456789",
    publicKey: keys.publicKey,
    installations: [{ id: 31, account: "acme", repos: ["e2e-private"] }],
    users: [{ login: "alice-gh", installationIds: [31] }],
  });
  github = await serveGitHubStandIn(gh);
  // Public repos answer anyone; the private one only a token the stand-in minted for it.
  git = await startGitHttpServer(fixtures.root);
  git.makePrivate(PRIVATE_REPO, (token) => gh.canRead(token, PRIVATE_REPO));
  const port = await freePort();
  agent = await spawnAgent(
    testEnv({
      API_SECRET,
      PORT: String(port),
      DEFAULT_IMAGE: NODE_IMAGE,
      GIT_REMOTE_TEMPLATE: git.remoteTemplate,
      DATA_DIR: path.join(fixtures.root, "agent-data"),
      PORT_RANGE: "21400-21420",
      CONTAINER_MEMORY_MB: "512",
    }),
  );
  t = setupTest();
  // The bridge: the agent's callbacks, forwarded as they are into the control plane's router.
  bridge = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const headers = new Headers();
      for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type"]) {
        const value = req.headers[name];
        if (typeof value === "string") headers.set(name, value);
      }
      void t.fetch(req.url ?? "/", { method: req.method, headers, body }).then(
        (r) => res.writeHead(r.status).end(),
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((r) => bridge.listen(0, "127.0.0.1", r));
  const bridgeUrl = `http://127.0.0.1:${(bridge.address() as AddressInfo).port}`;
  vi.stubEnv("DOCKER_HOST_URL", agent.url);
  vi.stubEnv("DOCKER_API_SECRET", API_SECRET);
  vi.stubEnv("DOCKER_CALLBACK_SECRET", CALLBACK_SECRET);
  vi.stubEnv("CONVEX_SITE_URL", bridgeUrl);
  // Alice changes the pool and reads host health: a host admin.
  vi.stubEnv("ADMIN_EMAILS", ALICE.email);
}, 120_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  const api = client(agent.url, API_SECRET);
  const { containers } = (await (await api.get("/api/containers")).json()) as {
    containers: { id: string; name: string }[];
  };
  const ours = ["acme-shop", PRIVATE_REPO.replace("/", "-")];
  for (const c of containers.filter((c) => c.name.startsWith("pool-env-") || ours.includes(c.name)))
    await api.del(`/api/containers/${c.id}`);
  await agent?.kill();
  await new Promise((r) => bridge?.close(r));
  await git?.close();
  await github?.close();
  await removeRepoArtifacts(PRIVATE_REPO);
  await fixtures?.dispose();
});

async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await t.finishInProgressScheduledFunctions();
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: gave up waiting; last ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const record = (id: Id<"containers">) => t.run((ctx) => ctx.db.get("containers", id));

it("reports the real agent's health to a signed-in user", async () => {
  const health = await t.withIdentity(ALICE).action(api.hostAgent.health, {});
  expect(health).toMatchObject({ reachable: true, status: "ok", docker: { reachable: true }, problems: [] });
  // The host card's capacity, from the agent's /health through the action's validator.
  if (health.reachable && health.capacity) expect(health.capacity.cpus).toBeGreaterThan(0);
});

it("takes an environment from runtime toggle to a ready dev server and back to destroyed", async () => {
  const alice = t.withIdentity(ALICE);
  const repoId = await alice.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
  await alice.mutation(api.pool.updateConfig, {
    targetSize: 1,
    minSize: 1,
    maxCreating: 1,
    containerPorts: [3000, 5173],
  });

  expect(await t.mutation(internal.pool.replenish, {})).toBe(1);
  const pooled = await waitFor(
    "pool fill",
    () => t.run((ctx) => ctx.db.query("containers").collect()),
    (cs) => cs.some((c) => c.status === "pooled" || c.status === "error"),
  );
  const poolContainer = pooled.find((c) => c.status === "pooled");
  expect(poolContainer, JSON.stringify(pooled)).toBeDefined();

  const started = Date.now();
  const id = await alice.mutation(api.containers.request, { repoId, branch: "main" });
  expect(id).toBe(poolContainer!._id);
  const ready = await waitFor(
    "setup",
    () => record(id),
    (c) => c?.status === "ready" || c?.status === "error",
  );
  expect(ready?.error).toBeUndefined();
  expect(ready).toMatchObject({ status: "ready", branch: "main", hostPort: poolContainer!.hostPort });

  const onAgent = (await (await client(agent.url, API_SECRET).get(`/api/containers/${ready!.agentId}`)).json()) as {
    ports: { containerPort: number }[];
  };
  expect(onAgent.ports.map((p) => p.containerPort)).toEqual([3000, 5173]); // the pool config's ports
  const page = (await (await fetch(`http://127.0.0.1:${ready!.hostPort}/`)).json()) as Record<string, unknown>;
  expect(page).toMatchObject({ message: "hello from main", greet: "1.0.0" });

  // The dashboard's isolation card, through Convex, from the real agent.
  const isolation = await alice.action(api.hostAgent.isolation, { containerId: ready!._id });
  expect(isolation).toMatchObject({ available: true, runtime: "runc" });
  expect(isolation.available && isolation.egress).not.toBeNull();
  expect(isolation.available && isolation.network?.name).toMatch(/^artie-net-/);

  const events = await t.run((ctx) =>
    ctx.db
      .query("containerEvents")
      .withIndex("by_containerId_and_at", (q) => q.eq("containerId", id))
      .collect(),
  );
  expect(events.map((e) => e.status)).toEqual(
    expect.arrayContaining(["pooled", "assigned", "cloning", "installing", "starting", "ready"]),
  );
  console.log(
    `e2e timeline: request -> ready ${Date.now() - started} ms;`,
    Object.entries(ready!.phaseDurations)
      .map(([phase, ms]) => `${phase} ${ms} ms`)
      .join(", "),
  );

  const agentApi = client(agent.url, API_SECRET);
  const before = (await (await agentApi.get(`/api/containers/${ready!.agentId}`)).json()) as { startedAt: string };
  await alice.mutation(api.containers.restart, { containerId: id });
  const restarted = await waitFor(
    "restart",
    async () =>
      (await (await agentApi.get(`/api/containers/${ready!.agentId}`)).json()) as { startedAt: string; state: string },
    (d) => d.startedAt !== before.startedAt,
  );
  expect(restarted.state).toBe("running");
  await waitFor(
    "restart on the timeline",
    () => alice.query(api.containers.events, { containerId: id }),
    (events) => events.some((e) => e.message === "container restarted"),
  );
  // The restart brought the dev server back: the agent's callbacks take the record to ready again.
  const back = await waitFor(
    "ready after restart",
    () => record(id),
    (c) => c?.status === "ready" || c?.status === "error",
  );
  expect(back?.status).toBe("ready");

  await alice.mutation(api.containers.destroy, { containerId: id });
  const destroyed = await waitFor(
    "destroy",
    () => record(id),
    (c) => c?.status === "destroyed" || c?.status === "error",
  );
  expect(destroyed?.status).toBe("destroyed");
  const onHost = await client(agent.url, API_SECRET).get(`/api/containers/${ready!.agentId}`);
  expect(onHost.status).toBe(404);
  const { containers } = (await (await client(agent.url, API_SECRET).get("/api/containers")).json()) as {
    containers: { hostPort: number }[];
  };
  expect(containers.map((c) => c.hostPort)).not.toContain(ready!.hostPort);

  // Reconcile: the pool container made after the claim is removed behind the system's back.
  const refill = await waitFor(
    "pool refill",
    () => t.run((ctx) => ctx.db.query("containers").collect()),
    (cs) => cs.some((c) => c._id !== id && c.status === "pooled"),
  );
  const spare = refill.find((c) => c._id !== id && c.status === "pooled")!;
  expect((await agentApi.del(`/api/containers/${spare.agentId}`)).status).toBe(200);
  await t.action(internal.hostAgent.reconcile, {});
  const vanished = await record(spare._id);
  expect(vanished?.status).toBe("error");
  expect(vanished?.error).toMatch(/gone from the host/);
}, 180_000);

it("sets up a private repo through the linked GitHub App, with a secret variable, and stores neither", async () => {
  vi.stubEnv("GITHUB_APP_ID", "4242");
  vi.stubEnv("GITHUB_APP_PRIVATE_KEY", appKeyPem);
  vi.stubEnv("GITHUB_APP_CLIENT_ID", "Iv23liE2E");
  vi.stubEnv("GITHUB_APP_CLIENT_SECRET", "e2e-client-secret-0123456789");
  vi.stubEnv("GITHUB_APP_SLUG", "artie-e2e");
  vi.stubEnv("GITHUB_API_URL", github.url);
  vi.stubEnv("GITHUB_URL", github.url);
  vi.stubEnv("SETTINGS_ENCRYPTION_KEY", SETTINGS_KEY);
  const alice = t.withIdentity(ALICE);
  const [owner, name] = PRIVATE_REPO.split("/") as [string, string];
  const started = Date.now();
  const repoId = await alice.mutation(api.repos.setRuntime, { owner, name, runtime: "firecracker" });

  // Link: the settings page's install link, GitHub's setup redirect back with a code.
  const install = await alice.action(api.github.installState, { repoId });
  expect(install.state).toBe("installed_not_linked");
  const state = new URL(install.installUrl!).searchParams.get("state")!;
  await alice.action(api.github.completeInstall, { installationId: "31", code: gh.authorize("alice-gh"), state });
  expect(await alice.action(api.github.installState, { repoId })).toMatchObject({ state: "installed_linked" });
  const linkedAt = Date.now();

  // Settings: the runtime toggle and a secret variable the dev server reads.
  await alice.action(api.repoSettings.save, {
    repoId,
    input: { runtime: "docker", defaultBranch: "main", envVars: [{ name: "FIXTURE_ENV", value: FIXTURE_SECRET }] },
  });
  const settingsView = await alice.query(api.repoSettings.get, { repoId });
  expect(settingsView).toMatchObject({ runtime: "docker", version: 1, envVars: [{ name: "FIXTURE_ENV", set: true }] });

  const requested = Date.now();
  const id = await alice.mutation(api.containers.request, { repoId, branch: "main" });
  const ready = await waitFor(
    "private setup",
    () => record(id),
    (c) => c?.status === "ready" || c?.status === "error",
  );
  expect(ready?.error).toBeUndefined();
  expect(ready).toMatchObject({ status: "ready", settingsVersion: 1 });
  const page = (await (await fetch(`http://127.0.0.1:${ready!.hostPort}/`)).json()) as Record<string, unknown>;
  expect(page).toMatchObject({ message: "private main", env: FIXTURE_SECRET });

  // One token, for this repo alone, with contents: read; it reached git only as Basic auth.
  const tokenRequests = gh.requests.filter((r) => r.path.endsWith("/access_tokens"));
  expect(tokenRequests.map((r) => r.body)).toEqual([
    { repositories: ["e2e-private"], permissions: { contents: "read" } },
  ]);
  expect(gh.minted).toHaveLength(1);
  const token = gh.minted.map((m) => m.token).join("");
  const basic = `Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;
  const privateFetches = git.requests.filter((r) => r.url.startsWith(`/${PRIVATE_REPO}.git`));
  expect(privateFetches.some((r) => r.headers.authorization === basic && r.status === 200)).toBe(true);
  for (const r of git.requests) expect(r.url).not.toContain(token);

  // Nothing stored or scheduled holds the token, any GitHub secret, or the variable's value.
  const leaks = (await everythingStored(t)).filter((row) =>
    [...gh.secrets(), FIXTURE_SECRET].some((secret) => row.includes(secret)),
  );
  expect(leaks).toEqual([]);
  expect(JSON.stringify(await alice.query(api.containers.list, {}))).not.toContain(FIXTURE_SECRET);

  // Another team asking for the same private repo gets no token: its setup goes anonymously, and
  // the agent's check against the git server refuses it with what to do.
  const bob = t.withIdentity(BOB);
  const bobsRepo = await bob.mutation(api.repos.setRuntime, { owner, name, runtime: "docker" });
  const bobs = await bob.mutation(api.containers.request, { repoId: bobsRepo, branch: "main" });
  const refused = await waitFor(
    "other team",
    () => record(bobs),
    (c) => c?.status === "error" || c?.status === "ready",
  );
  expect(refused).toMatchObject({ status: "error" });
  expect(refused!.error).toMatch(/is private .*install the GitHub App on .* and link it to your team/);
  expect(gh.minted).toHaveLength(1);

  console.log(
    `e2e private timeline: link ${linkedAt - started} ms; request -> ready ${Date.now() - requested} ms;`,
    Object.entries(ready!.phaseDurations)
      .map(([phase, ms]) => `${phase} ${ms} ms`)
      .join(", "),
  );
  await alice.mutation(api.containers.destroy, { containerId: id });
  await waitFor(
    "destroy",
    () => record(id),
    (c) => c?.status === "destroyed" || c?.status === "error",
  );
}, 180_000);
