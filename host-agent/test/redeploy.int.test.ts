/**
 * Redeploy on the real engine: after a new commit on the branch (the fixture git remote), a
 * redeploy of a ready environment serves the new code and keeps an uncommitted file, with
 * `git status` in the environment showing only that file; a local change to a file the new
 * commits change is refused (409 uncommitted_changes naming the file, nothing changed), and
 * `force` takes the branch's version; phases are reported by signed callbacks. A directory of
 * /app the environment made a link to a directory outside /app that only root may write is not
 * written through: the branch's files go in by a `tar` exec as the container user (not the
 * engine's archive upload, which runs as root and follows such a link: on Docker 20.10 a PUT
 * /containers/{id}/archive?path=/app of `src/x` with /app/src -> /outside writes /outside/x, root's).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorResponse, ExecResponse } from "../src/api/contract.js";
import { createContainer, startTestAgent } from "./helpers/agent.js";
import { startReceiver, type Receiver } from "./helpers/callback-receiver.js";
import { removeRepoArtifacts } from "./helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { NODE_IMAGE } from "./helpers/images.js";

const run = promisify(execFile);
const SECRET = "callback-secret-redeploy-0123";
const REPO = "acme/redeploy";

let fixtures: FixtureRoot;
let receiver: Receiver;
let agent: Awaited<ReturnType<typeof startTestAgent>>;

beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo(REPO, { main: { message: "version one", greetVersion: "1.0.0" } });
  receiver = await startReceiver(SECRET);
  agent = await startTestAgent({
    DEFAULT_IMAGE: NODE_IMAGE,
    GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
    DATA_DIR: `${fixtures.root}/agent-data`,
    SETUP_START_TIMEOUT_MS: "15000",
  });
});
afterAll(async () => {
  await agent?.close();
  await receiver?.close();
  await fixtures?.dispose();
  await removeRepoArtifacts(REPO);
});

const mine = (id: string) => receiver.received.filter((r) => r.body.containerId === id);
const ended = (id: string) => mine(id).filter((r) => r.body.phase === "ready" || r.body.phase === "error");

async function nthEnd(id: string, n: number) {
  await receiver.waitFor(() => ended(id).length >= n, 90_000);
  const last = ended(id)[n - 1]!.body;
  if (last.phase === "error") throw new Error(`expected ready, got error: ${last.error}`);
  return last;
}

async function exec(id: string, command: string[]) {
  const res = await agent.api.post(`/api/containers/${id}/exec`, { command });
  expect(res.status).toBe(200);
  return ExecResponse.parse(await res.json());
}

const message = async (hostPort: number) =>
  ((await (await fetch(`http://127.0.0.1:${hostPort}/`)).json()) as { message: string }).message;

const redeployBody = (force?: boolean) => ({
  repo: REPO,
  branch: "main",
  callbackUrl: receiver.url,
  callbackSecret: SECRET,
  ...(force === undefined ? {} : { force }),
});

describe("redeploy", () => {
  it(
    "brings in the branch's new commit, keeps uncommitted work, refuses to overwrite a local change unless forced",
    { timeout: 300_000 },
    async () => {
      const c = await createContainer(agent.api, { image: NODE_IMAGE });
      const setup = await agent.api.post(`/api/containers/${c.id}/setup`, {
        repo: REPO,
        branch: "main",
        callbackUrl: receiver.url,
        callbackSecret: SECRET,
      });
      expect(setup.status).toBe(202);
      const first = await nthEnd(c.id, 1);
      expect(await message(first.hostPort!)).toBe("version one");
      expect((await exec(c.id, ["sh", "-c", "echo uncommitted-work > /app/notes.txt"])).exitCode).toBe(0);

      // A new commit on the branch: redeploy serves it, the uncommitted file stays.
      await fixtures.commitTo(REPO, "main", { "message.txt": "version two\n" });
      const before = mine(c.id).length;
      const res = await agent.api.post(`/api/containers/${c.id}/redeploy`, redeployBody());
      expect(res.status).toBe(202);
      const second = await nthEnd(c.id, 2);
      expect(
        mine(c.id)
          .slice(before)
          .map((r) => r.body.phase),
      ).toEqual(["cloning", "installing", "starting", "ready"]);
      expect(mine(c.id).every((r) => r.validSignature)).toBe(true);
      expect(await message(second.hostPort!)).toBe("version two");
      expect((await exec(c.id, ["cat", "/app/notes.txt"])).stdout).toBe("uncommitted-work\n");
      // The environment's git knows the new commit: only the uncommitted file shows.
      const status = await exec(c.id, ["git", "-C", "/app", "status", "--porcelain"]);
      expect(status.stdout.trim()).toBe("?? notes.txt");
      const logs = await exec(c.id, ["git", "-C", "/app", "log", "-1", "--format=%s"]);
      expect(logs.stdout.trim()).toBe("update message.txt");

      // A local change to a file the next commit changes: refused, naming it, nothing changed.
      expect((await exec(c.id, ["sh", "-c", "echo my-local-edit > /app/message.txt"])).exitCode).toBe(0);
      await fixtures.commitTo(REPO, "main", { "message.txt": "version three\n" });
      const refused = await agent.api.post(`/api/containers/${c.id}/redeploy`, redeployBody());
      expect(refused.status).toBe(409);
      const err = ErrorResponse.parse(await refused.json()).error;
      expect(err.code).toBe("uncommitted_changes");
      expect(err.message).toMatch(/message\.txt \(modified locally\)/);
      expect(err.issues).toEqual([{ path: "message.txt", message: "modified locally" }]);
      expect((await exec(c.id, ["cat", "/app/message.txt"])).stdout).toBe("my-local-edit\n");
      expect(await message(second.hostPort!)).toBe("version two");

      // Forced: the branch's version wins, the uncommitted file is still kept.
      const forced = await agent.api.post(`/api/containers/${c.id}/redeploy`, redeployBody(true));
      expect(forced.status).toBe(202);
      const third = await nthEnd(c.id, 3);
      expect(await message(third.hostPort!)).toBe("version three");
      expect((await exec(c.id, ["cat", "/app/notes.txt"])).stdout).toBe("uncommitted-work\n");
    },
  );

  it(
    "never writes through a link the environment made from a directory of /app to one outside it",
    { timeout: 300_000 },
    async () => {
      const c = await createContainer(agent.api, { image: NODE_IMAGE });
      const setup = await agent.api.post(`/api/containers/${c.id}/setup`, {
        repo: REPO,
        branch: "main",
        callbackUrl: receiver.url,
        callbackSecret: SECRET,
      });
      expect(setup.status).toBe(202);
      await nthEnd(c.id, 1);
      // Outside /app, root's (as /etc is): made as root, then the user points /app/src at it.
      await run("docker", ["exec", "-u", "0", `artie-${c.id}`, "sh", "-c", "mkdir -m 755 /tmp/outside"]);
      expect((await exec(c.id, ["ln", "-s", "/tmp/outside", "/app/src"])).exitCode).toBe(0);

      await fixtures.commitTo(REPO, "main", { "src/x": "from the branch\n" });
      const res = await agent.api.post(`/api/containers/${c.id}/redeploy`, redeployBody(true));
      expect(res.status).toBe(202);
      await receiver.waitFor(() => ended(c.id).length >= 2, 90_000);

      // Nothing reached the directory outside /app, whatever the redeploy's own end.
      expect((await exec(c.id, ["ls", "-A", "/tmp/outside"])).stdout).toBe("");
      // The container user may not write there, so the redeploy fails and says where it stopped.
      const end = ended(c.id)[1]!.body;
      expect(end.phase).toBe("error");
      expect(end.error).toMatch(/writing the branch's files/);
    },
  );
});
