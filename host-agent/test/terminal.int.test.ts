/**
 * `WS /api/containers/:id/terminal` on a real container: a command round trip, resize reaching
 * the TTY, and either side's close ending both (shell exit closes the socket; a closed socket
 * ends the shell).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecResponse } from "../src/api/contract.js";
import { TEST_SECRET, createContainer, startTestAgent } from "./helpers/agent.js";
import { openTerminal, upgradeStatus } from "./helpers/terminal.js";

let agent: Awaited<ReturnType<typeof startTestAgent>>;
beforeAll(async () => {
  agent = await startTestAgent();
});
afterAll(async () => agent.close());

const termUrl = (id: string, query = "") =>
  `${agent.url.replace("http", "ws")}/api/containers/${id}/terminal?token=${TEST_SECRET}${query}`;

describe("terminal over WebSocket", () => {
  it("runs a command and shows its output", async () => {
    const c = await createContainer(agent.api);
    const term = await openTerminal(termUrl(c.id));
    term.send("echo hello-$((40+2))\n");
    await term.waitFor(/hello-42/);
    term.ws.close();
  });

  it("applies the initial size and later resizes to the TTY", async () => {
    const c = await createContainer(agent.api);
    const term = await openTerminal(termUrl(c.id, "&cols=100&rows=30"));
    term.send("stty size\n");
    await term.waitFor(/30 100/);
    term.resize(132, 43);
    await new Promise((r) => setTimeout(r, 200));
    term.send("stty size\n");
    await term.waitFor(/43 132/);
    term.ws.close();
  });

  it("closes the socket when the shell exits", async () => {
    const c = await createContainer(agent.api);
    const term = await openTerminal(termUrl(c.id));
    term.send("exit\n");
    const { code } = await term.closed;
    expect(code).toBe(1000);
  });

  it("ends the shell when the client closes the socket", async () => {
    const c = await createContainer(agent.api);
    const term = await openTerminal(termUrl(c.id));
    term.send("echo pid=$$\n");
    const [, pid] = await term.waitFor(/pid=(\d+)/);
    term.ws.close();
    await term.closed;
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await agent.api.post(`/api/containers/${c.id}/exec`, { command: ["test", "-e", `/proc/${pid}`] });
      alive = ExecResponse.parse(await res.json()).exitCode === 0;
    }
    expect(alive).toBe(false);
  });

  it("refuses the upgrade for an unknown container with 404", async () => {
    expect(await upgradeStatus(termUrl("no-such-container"))).toBe(404);
  });
});
