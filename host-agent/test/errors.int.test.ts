/**
 * Bad input gets a clear 4xx in the one error envelope and leaves nothing behind: malformed and
 * invalid bodies, unknown and malformed ids, unknown routes, missing images, oversized bodies.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorResponse } from "../src/api/contract.js";
import { createContainer, startTestAgent, uniqueName } from "./helpers/agent.js";
import { docker } from "./helpers/docker.js";

let agent: Awaited<ReturnType<typeof startTestAgent>>;
beforeAll(async () => {
  agent = await startTestAgent();
});
afterAll(async () => agent.close());

const containerCount = async () => (await docker.listContainers({ all: true })).length;

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = ErrorResponse.parse(await res.json());
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(5);
  expect(body.error.requestId).toBeTruthy();
  return body;
}

describe("bad input", () => {
  it.each([
    ["malformed JSON", "{not json"],
    ["missing name", {}],
    ["unknown field", { name: "test-x", hostConfig: { Privileged: true } }],
    ["image starting with -", { name: "test-x", image: "--privileged" }],
    ["port out of range", { name: "test-x", ports: [70000] }],
    ["ports not a list", { name: "test-x", ports: "3000" }],
    ["id with a slash", { name: "test-x", id: "../etc" }],
    ["name with spaces", { name: "test x; rm -rf /" }],
  ])("create with %s is a 400 and creates nothing", async (_what, body) => {
    const before = await containerCount();
    const res = await agent.api.post("/api/containers", body);
    await expectError(res, 400, "invalid_request");
    expect(await containerCount()).toBe(before);
  });

  it("names the offending field", async () => {
    const res = await agent.api.post("/api/containers", { name: "test-x", ports: [0] });
    const body = await expectError(res, 400, "invalid_request");
    expect(body.error.issues?.[0]?.path).toBe("ports.0");
  });

  it("exec with an empty command is a 400", async () => {
    const { id } = uniqueName("x");
    const res = await agent.api.post(`/api/containers/${id}/exec`, { command: "" });
    await expectError(res, 400, "invalid_request");
  });

  it("an unknown image is a 422 with what to do", async () => {
    const { name, id } = uniqueName("img");
    const before = await containerCount();
    const res = await agent.api.post("/api/containers", { name, id, image: "artie-test/does-not-exist:1" });
    const body = await expectError(res, 422, "image_not_found");
    expect(body.error.message).toMatch(/pull or build/);
    expect(await containerCount()).toBe(before);
  });

  it.each([
    ["GET", "/api/containers/unknown-id"],
    ["DELETE", "/api/containers/unknown-id"],
    ["POST", "/api/containers/unknown-id/restart"],
  ])("%s %s is a 404", async (method, path) => {
    await expectError(await agent.api.request(method, path), 404, "container_not_found");
  });

  it("a malformed id is a 400", async () => {
    await expectError(await agent.api.get("/api/containers/-bad"), 400, "invalid_request");
  });

  it("an unknown route is a 404 in the envelope", async () => {
    await expectError(await agent.api.get("/api/nothing-here"), 404, "not_found");
  });

  it("an oversized body is a 413", async () => {
    // Its own agent: the server answers before reading the whole body and closes the socket,
    // which must not be a pooled keep-alive connection other tests reuse.
    const other = await startTestAgent();
    try {
      const res = await other.api.post("/api/containers", { name: "test-big", pad: "x".repeat(2 * 1024 * 1024) });
      await expectError(res, 413, "payload_too_large");
    } finally {
      await other.close();
    }
  });

  it("a container removed behind the agent's back is a 404, also once it was used", async () => {
    const c = await createContainer(agent.api);
    expect((await agent.api.post(`/api/containers/${c.id}/exec`, { command: ["true"] })).status).toBe(200);
    await docker.getContainer(`artie-${c.id}`).remove({ force: true });
    const res = await agent.api.post(`/api/containers/${c.id}/exec`, { command: ["true"] });
    await expectError(res, 404, "container_not_found");
  });

  it("a container not made by the agent is a 404", async () => {
    const { id } = uniqueName("notours");
    const foreign = await docker.createContainer({
      name: `artie-${id}`,
      Image: agent.config.defaultImage,
      Cmd: ["true"],
    });
    try {
      await expectError(await agent.api.get(`/api/containers/${id}`), 404, "container_not_found");
    } finally {
      await foreign.remove({ force: true });
    }
  });
});
