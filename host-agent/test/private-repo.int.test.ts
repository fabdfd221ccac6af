/**
 * Private repositories on real Docker through a real smart-HTTP git server (git http-backend)
 * that accepts only `x-access-token:<token>` Basic auth: the right token reaches `ready`; a wrong
 * or missing one ends in an error that says why; a tokenless setup racing a tokened fetch gets an
 * error and no code; and the token is nowhere: not in a container, image, label, log line,
 * callback, the repo cache, the agent's output, nor any URL the git server was asked for.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecResponse } from "../src/api/contract.js";
import { mainImageTag } from "../src/setup/artifact-names.js";
import { client, createContainer, freePort, spawnAgent, testEnv, type SpawnedAgent } from "./helpers/agent.js";
import { startReceiver, type Receiver } from "./helpers/callback-receiver.js";
import { docker, removeRepoArtifacts } from "./helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { startGitHttpServer, type GitHttpServer } from "./helpers/git-http-server.js";
import { NODE_IMAGE } from "./helpers/images.js";

const SECRET = "callback-secret-0123456789";
const REPO = "acme/private";
const TOKEN = "ghs_PRIVATEtoken0123456789abcdefLEAKCHECK";
const WRONG = "ghs_WRONGtoken0123456789abcdefLEAKCHECK";
const BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString("base64");
const MAIN_TAG = mainImageTag("default", REPO);

let fixtures: FixtureRoot;
let server: GitHttpServer;
let receiver: Receiver;
let agent: SpawnedAgent;
let dataDir: string;
let agentOutput = "";
const api = () => client(agent.url);

beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo(REPO, { main: { message: "private main", greetVersion: "1.0.0" } });
  server = await startGitHttpServer(fixtures.root);
  server.makePrivate(REPO, TOKEN);
  receiver = await startReceiver(SECRET);
  dataDir = await mkdtemp(path.join(tmpdir(), "artie-private-data-"));
  const port = await freePort();
  agent = await spawnAgent(
    testEnv({
      PORT: String(port),
      DEFAULT_IMAGE: NODE_IMAGE,
      GIT_REMOTE_TEMPLATE: server.remoteTemplate,
      DATA_DIR: dataDir,
      CONTAINER_MEMORY_MB: "512",
      LOG_LEVEL: "debug",
    }),
  );
  agent.process.stdout?.on("data", (d: Buffer) => (agentOutput += d.toString()));
  agent.process.stderr?.on("data", (d: Buffer) => (agentOutput += d.toString()));
});
afterAll(async () => {
  await agent?.kill("SIGKILL");
  await receiver?.close();
  await server?.close();
  await fixtures?.dispose();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await removeRepoArtifacts(REPO);
});

const setup = (id: string, extra: Record<string, unknown> = {}) =>
  api().post(`/api/containers/${id}/setup`, {
    repo: REPO,
    branch: "main",
    callbackUrl: receiver.url,
    callbackSecret: SECRET,
    ...extra,
  });

const mine = (id: string) => receiver.received.filter((r) => r.body.containerId === id);
async function finish(id: string) {
  await receiver.waitFor(() => mine(id).some((r) => ["ready", "error"].includes(r.body.phase)), 90_000);
  return mine(id).at(-1)!.body;
}

async function exec(id: string, command: string[]) {
  const res = await api().post(`/api/containers/${id}/exec`, { command });
  return ExecResponse.parse(await res.json());
}

describe("a private repository", () => {
  it("with the right token reaches ready, and the token is nowhere", async () => {
    const c = await createContainer(api(), { image: NODE_IMAGE });
    expect((await setup(c.id, { githubToken: TOKEN, buildMainImage: true })).status).toBe(202);
    await receiver.waitFor(() => mine(c.id).some((r) => r.body.mainImage || r.body.phase === "error"), 120_000);
    expect(mine(c.id).find((r) => r.body.phase === "error")?.body.error).toBeUndefined();
    expect(mine(c.id).map((r) => r.body.phase)).toEqual(["cloning", "installing", "starting", "ready", "ready"]);
    const page = (await (await fetch(`http://127.0.0.1:${c.hostPort}/`)).json()) as Record<string, unknown>;
    expect(page).toMatchObject({ message: "private main" });

    const name = `artie-${c.id}`;
    const places: Record<string, string> = {
      callbacks: JSON.stringify(receiver.received.map((r) => r.body)),
      agentOutput,
      inspect: JSON.stringify(await docker.getContainer(name).inspect()),
      dockerLogs: (await docker.getContainer(name).logs({ stdout: true, stderr: true })).toString(),
      workspace: await sh(
        `docker exec ${name} sh -c 'cat /app/.git/config; grep -r -l ghs_ /app /tmp 2>/dev/null; env'`,
      ),
      cacheConfig: await readFile(path.join(dataDir, "repo-cache", "acme", "private.git", "config"), "utf8"),
      image: await sh(`docker save ${MAIN_TAG} | tar -xO 2>/dev/null | grep -a -c -e ghs_PRIVATE -e ${BASIC} || true`),
      imageInspect: JSON.stringify(await docker.getImage(MAIN_TAG).inspect()),
      // What the git server was asked for: the token went in a header, never in a URL.
      serverUrls: JSON.stringify(server.requests.map((r) => r.url)),
    };
    for (const [where, text] of Object.entries(places)) {
      expect(text, where).not.toContain(TOKEN);
      expect(text, where).not.toContain(BASIC);
    }
    expect(places.image!.trim()).toBe("0");
    expect(places.workspace).toMatch(/url = http:\/\/127\.0\.0\.1:\d+\/acme\/private\.git/);
    // The server did see the token, where it belongs: the scan looks in the right places.
    expect(server.requests.some((r) => r.headers.authorization === `Basic ${BASIC}`)).toBe(true);
  });

  it("with a wrong token ends in error saying the token was refused", async () => {
    const c = await createContainer(api(), { image: NODE_IMAGE });
    await setup(c.id, { githubToken: WRONG });
    const last = await finish(c.id);
    expect(last.phase).toBe("error");
    expect(last.error).toMatch(/The git server refused the token for acme\/private/);
    expect(last.error).toMatch(/install the GitHub App on acme\/private and link it to your team/);
    expect(JSON.stringify(receiver.received)).not.toContain(WRONG);
    expect(agentOutput).not.toContain(WRONG);
  });

  it("without a token ends in error saying the repository is private and how to grant access", async () => {
    const c = await createContainer(api(), { image: NODE_IMAGE });
    await setup(c.id);
    const last = await finish(c.id);
    expect(last.phase).toBe("error");
    expect(last.error).toMatch(/acme\/private is private/);
    expect(last.error).toMatch(/install the GitHub App on acme\/private and link it to your team/);
    // Nothing checked out: /app holds only the dependency volume's mount point.
    expect((await exec(c.id, ["ls", "-A", "/app"])).stdout.trim()).toBe("node_modules");
  });

  it("a tokenless setup racing a tokened fetch gets an error, never the code", async () => {
    const tokened = await createContainer(api(), { image: NODE_IMAGE });
    const tokenless = await createContainer(api(), { image: NODE_IMAGE });
    const release = server.hold(REPO);
    try {
      const before = server.requests.length;
      await setup(tokened.id, { githubToken: TOKEN });
      // The tokened fetch is in flight: the server holds its authorized request.
      await receiver.waitFor(() => server.requests.slice(before).some((r) => r.headers.authorization), 30_000);
      await setup(tokenless.id);
      const last = await finish(tokenless.id);
      expect(last.phase).toBe("error");
      expect(last.error).toMatch(/acme\/private is private/);
      const app = await exec(tokenless.id, ["sh", "-c", "ls -A /app; cat /app/message.txt 2>/dev/null; true"]);
      expect(app.stdout).not.toContain("private main");
      expect(app.stdout.trim()).toBe("node_modules");
    } finally {
      release();
    }
    expect((await finish(tokened.id)).error).toBeUndefined();
  });
});

async function sh(command: string): Promise<string> {
  const { stdout } = await promisify(execFile)("sh", ["-c", command], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}
