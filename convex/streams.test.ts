/**
 * Browser stream tokens from the control plane: only the environment's owner gets one, it is
 * scoped to that container and stream, and the agent's verifier accepts exactly that.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { verifyStreamToken } from "@artie/host-agent/stream-token";
import { api } from "./_generated/api";
import { ALICE, BOB, setupTest } from "./test.setup";

const KEY = "stream-token-key-".padEnd(40, "k");

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "setInterval"] });
  vi.stubEnv("DOCKER_STREAM_TOKEN_KEY", KEY);
  vi.stubEnv("DOCKER_HOST_URL", "http://agent.internal:8080");
  vi.stubEnv("DOCKER_PUBLIC_URL", "https://docker.example.com/");
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

async function environment(t: ReturnType<typeof setupTest>) {
  const repoId = await t
    .withIdentity(ALICE)
    .mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
  const id = await t.withIdentity(ALICE).mutation(api.containers.request, { repoId, branch: "main" });
  const agentId = (await t.run((ctx) => ctx.db.get("containers", id)))!.agentId;
  return { id, agentId };
}

describe("streams.open", () => {
  it("gives the owner a logs URL with a token for that container and scope only", async () => {
    const t = setupTest();
    const { id, agentId } = await environment(t);
    const { url, expiresAt } = await t.withIdentity(ALICE).action(api.streams.open, { containerId: id, scope: "logs" });
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe(`https://docker.example.com/api/containers/${agentId}/logs`);
    const token = parsed.searchParams.get("token")!;
    expect(await verifyStreamToken(KEY, token, { containerId: agentId, scope: "logs" })).toBe(true);
    expect(await verifyStreamToken(KEY, token, { containerId: agentId, scope: "terminal" })).toBe(false);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    expect(url).not.toContain("DOCKER_API_SECRET");
  });

  it("gives a wss:// URL for the terminal", async () => {
    const t = setupTest();
    const { id } = await environment(t);
    const { url } = await t.withIdentity(ALICE).action(api.streams.open, { containerId: id, scope: "terminal" });
    expect(url).toMatch(/^wss:\/\/docker\.example\.com\/api\/containers\/.+\/terminal\?token=/);
  });

  it("gives nothing to anyone else", async () => {
    const t = setupTest();
    const { id } = await environment(t);
    await expect(t.withIdentity(BOB).action(api.streams.open, { containerId: id, scope: "logs" })).rejects.toThrow(
      /No such environment/,
    );
    await expect(t.action(api.streams.open, { containerId: id, scope: "logs" })).rejects.toThrow(/Sign in/);
  });

  it("says what to configure when the key is missing", async () => {
    vi.stubEnv("DOCKER_STREAM_TOKEN_KEY", "");
    const t = setupTest();
    const { id } = await environment(t);
    await expect(t.withIdentity(ALICE).action(api.streams.open, { containerId: id, scope: "logs" })).rejects.toThrow(
      /Set DOCKER_STREAM_TOKEN_KEY/,
    );
  });
});
