/**
 * `POST /api/containers/:id/exec` on a real container: argv semantics (no shell), exit codes,
 * separate stdout/stderr, env and workdir, output cap, and a timeout that kills the whole
 * process tree it started.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecResponse } from "../src/api/contract.js";
import { createContainer, startTestAgent } from "./helpers/agent.js";

let agent: Awaited<ReturnType<typeof startTestAgent>>;
let id: string;
beforeAll(async () => {
  agent = await startTestAgent({ EXEC_OUTPUT_LIMIT_BYTES: "4096" });
});
afterAll(async () => agent.close());

async function exec(body: Record<string, unknown>) {
  const res = await agent.api.post(`/api/containers/${id}/exec`, body);
  expect(res.status).toBe(200);
  return ExecResponse.parse(await res.json());
}

describe("exec", () => {
  beforeAll(async () => {
    // createContainer registers cleanup per test; this container lives for the whole file.
    const res = await agent.api.post("/api/containers", { name: "test-exec-shared" });
    id = ((await res.json()) as { id: string }).id;
  });
  afterAll(async () => void (await agent.api.del(`/api/containers/${id}`)));

  it("returns exit code, stdout and stderr separately", async () => {
    const r = await exec({ command: ["sh", "-c", "echo out; echo err >&2; exit 3"] });
    expect(r).toMatchObject({ exitCode: 3, stdout: "out\n", stderr: "err\n", timedOut: false, truncated: false });
  });

  it("passes argv through without shell interpretation", async () => {
    const r = await exec({ command: ["echo", "$HOME; touch /tmp/pwned", "`id`"] });
    expect(r.stdout).toBe("$HOME; touch /tmp/pwned `id`\n");
    const check = await exec({ command: ["ls", "/tmp/pwned"] });
    expect(check.exitCode).not.toBe(0);
  });

  it("applies env and workdir", async () => {
    const r = await exec({
      command: ["sh", "-c", 'echo "$GREETING" && pwd'],
      env: { GREETING: "hi there" },
      workdir: "/tmp",
    });
    expect(r.stdout).toBe("hi there\n/tmp\n");
  });

  it("kills a timed-out command and everything it started", async () => {
    const started = Date.now();
    const r = await exec({ command: ["sh", "-c", "echo begun; sleep 300 & sleep 301; echo never"], timeout: 700 });
    expect(r.timedOut).toBe(true);
    expect(r.stdout).toBe("begun\n");
    expect(Date.now() - started).toBeLessThan(10_000);
    const ps = await exec({ command: ["ps", "-o", "args"] });
    expect(ps.stdout).not.toMatch(/sleep 30[01]/);
  });

  it("caps output and says so", async () => {
    const r = await exec({ command: ["sh", "-c", "yes x | head -c 20000"] });
    expect(r.truncated).toBe(true);
    expect(r.stdout.length).toBe(4096);
    expect(r.exitCode).toBe(0);
  });

  it("reports a command that does not exist as a failed exit, not an agent error", async () => {
    const r = await exec({ command: ["definitely-not-a-command"] });
    // The engine's answer when the executable is missing: Docker's 126, Podman's 127 (a shell's).
    expect([126, 127]).toContain(r.exitCode);
    expect(r.stdout + r.stderr).toMatch(/executable file not found/);
  });

  it("answers 404 for an unknown container", async () => {
    const res = await agent.api.post("/api/containers/nope-nope/exec", { command: ["true"] });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "container_not_found" } });
  });
});

it("exec works in a container created by the helper too", async () => {
  const c = await createContainer(agent.api);
  const res = await agent.api.post(`/api/containers/${c.id}/exec`, { command: ["true"] });
  expect(ExecResponse.parse(await res.json()).exitCode).toBe(0);
});
