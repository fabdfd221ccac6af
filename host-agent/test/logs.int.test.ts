/**
 * `GET /api/containers/:id/logs` (SSE) on real containers: event format, stdout and stderr,
 * history with `tail`, the `end` event when the container stops, and resuming with
 * Last-Event-ID after a cut connection without losing or repeating a line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LogEvent } from "../src/api/contract.js";
import { TEST_SECRET, createContainer, startTestAgent } from "./helpers/agent.js";
import { readSse } from "./helpers/sse.js";

let agent: Awaited<ReturnType<typeof startTestAgent>>;
beforeAll(async () => {
  agent = await startTestAgent();
});
afterAll(async () => agent.close());

const auth = { authorization: `Bearer ${TEST_SECRET}` };
const logsUrl = (id: string, query = "") => `${agent.url}/api/containers/${id}/logs${query}`;

describe("logs over SSE", () => {
  it("streams each line as an event with an id, then `end` when the container stops", async () => {
    const c = await createContainer(agent.api, {
      command: ["sh", "-c", "echo hello; echo oops >&2; sleep 1; echo bye"],
    });
    const { status, events } = await readSse(logsUrl(c.id), { headers: auth });
    expect(status).toBe(200);
    const lines = events.filter((e) => !e.event).map((e) => LogEvent.parse(JSON.parse(e.data)));
    // Docker keeps order within a stream, not across stdout and stderr.
    const of = (stream: string) => lines.filter((l) => l.stream === stream).map((l) => l.line);
    expect(of("stdout")).toEqual(["hello", "bye"]);
    expect(of("stderr")).toEqual(["oops"]);
    expect(Math.abs(lines[0]!.timestamp - Date.now())).toBeLessThan(60_000);
    expect(events.filter((e) => !e.event).every((e) => e.id)).toBe(true);
    expect(events.at(-1)?.event).toBe("end");
  });

  it("sends only the last `tail` lines of history", async () => {
    const c = await createContainer(agent.api, { command: ["sh", "-c", "for i in 1 2 3 4 5; do echo n$i; done"] });
    await waitForExit(c.id);
    const { events } = await readSse(logsUrl(c.id, "?tail=2"), { headers: auth });
    expect(events.filter((e) => !e.event).map((e) => LogEvent.parse(JSON.parse(e.data)).line)).toEqual(["n4", "n5"]);
  });

  it("resumes after a cut with Last-Event-ID: no line lost, none repeated", async () => {
    // 300 lines on both streams, written while we read, so the cut lands mid-stream.
    const script = 'i=0; while [ $i -lt 300 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done; sleep 0.5';
    const c = await createContainer(agent.api, { command: ["sh", "-c", `sleep 0.3; ${script}`] });
    const first = await readSse(logsUrl(c.id), { headers: auth, maxEvents: 137 });
    expect(first.events).toHaveLength(137);
    const lastId = first.events.at(-1)!.id!;

    const rest = await readSse(logsUrl(c.id), { headers: { ...auth, "last-event-id": lastId } });
    const all = [...first.events, ...rest.events].filter((e) => !e.event);
    const lines = all.map((e) => LogEvent.parse(JSON.parse(e.data)).line);
    const expected = Array.from({ length: 300 }, (_, i) => [`out ${i}`, `err ${i}`]).flat();
    expect(lines).toHaveLength(600);
    expect([...lines].sort()).toEqual([...expected].sort());
    // Within each stream the order is kept.
    expect(lines.filter((l) => l.startsWith("out"))).toEqual(expected.filter((l) => l.startsWith("out")));
    expect(lines.filter((l) => l.startsWith("err"))).toEqual(expected.filter((l) => l.startsWith("err")));
  });

  it("accepts the cursor as ?lastEventId= for clients that cannot set headers", async () => {
    const c = await createContainer(agent.api, { command: ["sh", "-c", "echo a; echo b; echo c"] });
    await waitForExit(c.id);
    const first = await readSse(logsUrl(c.id), { headers: auth, maxEvents: 1 });
    const rest = await readSse(logsUrl(c.id, `?lastEventId=${encodeURIComponent(first.events[0]!.id!)}`), {
      headers: auth,
    });
    expect(rest.events.filter((e) => !e.event).map((e) => LogEvent.parse(JSON.parse(e.data)).line)).toEqual(["b", "c"]);
  });

  it("refuses a cursor it did not issue, and an unknown container", async () => {
    const c = await createContainer(agent.api);
    const bad = await fetch(logsUrl(c.id), { headers: { ...auth, "last-event-id": "garbage" } });
    expect(bad.status).toBe(400);
    const missing = await fetch(logsUrl("no-such-container"), { headers: auth });
    expect(missing.status).toBe(404);
  });
});

async function waitForExit(id: string) {
  for (let i = 0; i < 100; i++) {
    const d = (await (await agent.api.get(`/api/containers/${id}`)).json()) as { state: string };
    if (d.state === "exited") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`container ${id} did not exit within 10 s`);
}
