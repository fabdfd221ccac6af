// One environment on a fake Convex client: facts and timeline, restart and destroy behind a
// dialog that names what happens, logs over (fake) EventSource that resume from the last event
// with a fresh token, and an id that is not an environment.
import { act, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { environment, event, NOW, repo } from "../fake-convex/fixtures";
import { FakeEventSource } from "../fake-convex/FakeEventSource";
import { renderApp } from "../render";

beforeEach(() => {
  FakeEventSource.instances = [];
  vi.stubGlobal("EventSource", FakeEventSource);
});
afterEach(() => vi.unstubAllGlobals());

function openEnvironment(env = environment()) {
  const view = renderApp(`/environments/${env._id}`);
  let minted = 0;
  view.fake.on("streams:open", ({ scope }) => ({
    url: `http://127.0.0.1:8080/api/containers/${env.agentId}/${String(scope)}?token=t${++minted}`,
    expiresAt: NOW + 300_000,
  }));
  act(() => {
    view.fake.setQuery("repos:list", [repo()]);
    view.fake.setQuery("containers:detail", env);
    view.fake.setQuery("containers:events", [
      event("assigned", NOW - 591_000, "claimed for acme/shop@main"),
      event("cloning", NOW - 590_000),
      event("installing", NOW - 589_300),
      event("ready", NOW - 588_450),
    ]);
  });
  return view;
}

const line = (n: number) => ({ line: `line ${n}`, timestamp: NOW + n, stream: "stdout" });

describe("EnvironmentPage", () => {
  it("shows the environment's isolation as its host reports it: network, runtime, refusals", async () => {
    const { fake } = openEnvironment();
    fake.on("hostAgent:isolation", () => ({
      available: true,
      network: { name: "artie-net-abc", subnet: "10.213.0.16/28", gateway: "10.213.0.17" },
      runtime: "runsc",
      egressAllowlist: ["registry.example.com", "*.example.org"],
      egress: {
        allowed: 12,
        denied: 2,
        recentDenials: [
          { host: "evil.example", reason: "not_allowlisted", at: new Date(NOW).toISOString() },
          { host: "meta.internal", reason: "link_local", at: new Date(NOW - 1000).toISOString() },
        ],
      },
    }));
    const card = await screen.findByRole("region", { name: "Isolation" });
    expect(await within(card).findByText("artie-net-abc")).toBeInTheDocument();
    expect(card).toHaveTextContent("10.213.0.16/28, internal");
    expect(card).toHaveTextContent("gVisor (runsc)");
    expect(card).toHaveTextContent("12 allowed, 2 denied");
    expect(card).toHaveTextContent("May reachregistry.example.com, *.example.org");
    const rows = within(within(card).getByRole("table", { name: "Recent refusals" })).getAllByRole("row");
    expect(rows.map((r) => r.textContent)).toEqual([
      expect.stringContaining("Refused host"),
      expect.stringContaining("evil.examplenot allowlisted"),
      expect.stringContaining("meta.internallink local"),
    ]);
    expect(fake.callsTo("hostAgent:isolation")[0]).toEqual({ containerId: environment()._id });
  });

  it("says when an environment is not isolated, or its host cannot be asked", async () => {
    const { fake } = openEnvironment();
    fake.on("hostAgent:isolation", () => ({
      available: true,
      network: null,
      runtime: "runc",
      egressAllowlist: [],
      egress: null,
    }));
    const card = await screen.findByRole("region", { name: "Isolation" });
    expect(await within(card).findByText("Shared: not isolated")).toBeInTheDocument();
    expect(card).toHaveTextContent("no proxy");
    expect(card).toHaveTextContent("nothing outside");
  });

  it("shows the environment, its dev server and its timeline", async () => {
    openEnvironment();
    expect(await screen.findByRole("heading", { name: /acme\/shop@main/ })).toBeInTheDocument();
    const timeline = screen.getByRole("region", { name: "Timeline" });
    expect(within(timeline).getByText("claimed for acme/shop@main")).toBeInTheDocument();
    expect(timeline).toHaveTextContent("setup 1.6 s");
    expect(within(timeline).getByRole("img", { name: "Time per phase" })).toHaveTextContent("clone 700 ms");
    expect(screen.getAllByRole("link", { name: "Open ↗" })[0]).toHaveAttribute("href", "http://127.0.0.1:10001");
  });

  it("destroys only after the dialog is confirmed, and says what will happen", async () => {
    const { fake } = openEnvironment();
    const button = await screen.findByRole("button", { name: "Destroy" });
    await act(async () => button.click());
    const dialog = screen.getByRole("dialog");
    expect(dialog).toHaveTextContent("Destroy acme/shop@main?");
    expect(dialog).toHaveTextContent("removes the container and its workspace and frees host port 10001");
    await act(async () => within(dialog).getByRole("button", { name: "Cancel" }).click());
    expect(fake.callsTo("containers:destroy")).toEqual([]);

    await act(async () => screen.getByRole("button", { name: "Destroy" }).click());
    await act(async () =>
      within(screen.getByRole("dialog")).getByRole("button", { name: "Destroy environment" }).click(),
    );
    expect(fake.callsTo("containers:destroy")).toEqual([{ containerId: "c1" }]);
  });

  it("restarts after confirmation, and only when ready or failed", async () => {
    const { fake } = openEnvironment();
    const button = await screen.findByRole("button", { name: "Restart" });
    await act(async () => button.click());
    const dialog = screen.getByRole("dialog");
    // What a restart really does now: the workspace volume stays, and the dev server comes back.
    expect(dialog).toHaveTextContent("the dev server is started again with the same command and variables");
    expect(dialog).toHaveTextContent("The workspace (/app) is kept, uncommitted changes included");
    await act(async () => screen.getByRole("button", { name: "Restart container" }).click());
    expect(fake.callsTo("containers:restart")).toEqual([{ containerId: "c1" }]);
    act(() => fake.setQuery("containers:detail", environment({ status: "installing" })));
    expect(screen.getByRole("button", { name: "Restart" })).toBeDisabled();
  });

  it("offers Stop when ready, Start when stopped, and says what is under way otherwise", async () => {
    const { fake } = openEnvironment();
    const stop = await screen.findByRole("button", { name: "Stop" });
    await act(async () => stop.click());
    expect(fake.callsTo("containers:stop")).toEqual([{ containerId: "c1" }]);
    // Accepted, the host has not answered yet: the button waits.
    expect(await screen.findByRole("button", { name: "Stopping…" })).toBeDisabled();
    act(() => fake.setQuery("containers:detail", environment({ status: "stopped" })));
    await act(async () => screen.getByRole("button", { name: "Start" }).click());
    expect(fake.callsTo("containers:start")).toEqual([{ containerId: "c1" }]);
    expect(screen.getByRole("tab", { name: "Terminal" })).toBeDisabled();
    for (const [status, label] of [
      ["starting", "Starting…"],
      ["installing", "Setting up…"],
      ["destroying", "Destroying…"],
    ] as const) {
      act(() => fake.setQuery("containers:detail", environment({ status })));
      expect(screen.getByRole("button", { name: label })).toBeDisabled();
    }
  });

  it("shows the countdown to the stop and to the removal", async () => {
    const { fake } = openEnvironment(environment({ lastActivityAt: Date.now() - 40.5 * 60_000 }));
    expect(await screen.findByTestId("idle-countdown")).toHaveTextContent("idle 40 min, stops in 80 min");
    act(() =>
      fake.setQuery(
        "containers:detail",
        environment({ status: "stopped", lastActivityAt: Date.now() - 10.5 * 60_000, stoppedLimitMinutes: 60 }),
      ),
    );
    expect(screen.getByTestId("idle-countdown")).toHaveTextContent("stopped 10 min, removed in 50 min");
    act(() => fake.setQuery("containers:detail", environment({ status: "cloning" })));
    expect(screen.queryByTestId("idle-countdown")).toBeNull();
  });

  it("offers a refused redeploy again, with force, naming what it could not compare", async () => {
    const { fake } = openEnvironment(
      environment({
        redeployRefused: {
          message: "conflict: Cannot check for local changes: the branch's new commits change 900 files",
          files: [],
          at: NOW,
        },
      }),
    );
    const alert = await screen.findByRole("alert", { name: "Redeploy refused" });
    expect(alert).toHaveTextContent("Cannot check for local changes");
    await act(async () => within(alert).getByRole("button", { name: "Try again" }).click());
    await act(async () => within(screen.getByRole("dialog")).getByRole("button", { name: "Redeploy" }).click());
    await act(async () => within(alert).getByRole("button", { name: "Redeploy anyway" }).click());
    await act(async () => within(screen.getByRole("dialog")).getByRole("button", { name: "Redeploy anyway" }).click());
    expect(fake.callsTo("containers:redeploy")).toEqual([{ containerId: "c1" }, { containerId: "c1", force: true }]);
  });

  it("streams logs and resumes after a drop from the last event, with a fresh token", async () => {
    const { fake } = openEnvironment();
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    const first = FakeEventSource.latest();
    expect(first.url).toContain("token=t1");
    expect(first.url).toContain("tail=10000");
    act(() => {
      first.open();
      [1, 2, 3].forEach((n) => first.send(`cursor-${n}`, line(n)));
    });
    expect(await screen.findByText("3 lines")).toBeInTheDocument();
    expect(screen.getByTestId("log-state")).toHaveTextContent("Live");

    act(() => first.fail());
    expect(first.closed).toBe(true);
    expect(screen.getByTestId("log-state")).toHaveTextContent("Reconnecting");
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(2), { timeout: 3000 });
    const second = FakeEventSource.latest();
    expect(second.url).toContain("token=t2");
    expect(second.url).toContain("lastEventId=cursor-3");
    expect(second.url).not.toContain("tail=");
    act(() => {
      second.open();
      second.send("cursor-4", line(4));
    });
    expect(await screen.findByText("4 lines")).toBeInTheDocument();
    expect(fake.callsTo("streams:open")).toEqual([
      { containerId: "c1", scope: "logs" },
      { containerId: "c1", scope: "logs" },
    ]);

    act(() => second.emit("end"));
    expect(screen.getByTestId("log-state")).toHaveTextContent("Container stopped");
    await act(async () => screen.getByRole("button", { name: "Reconnect" }).click());
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(3));
    expect(FakeEventSource.latest().url).toContain("lastEventId=cursor-4");
  });

  it("reconnects an ended stream by itself when the container's run changes, not on activity", async () => {
    const { fake } = openEnvironment();
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    const source = FakeEventSource.latest();
    act(() => {
      source.open();
      source.send("cursor-1", line(1));
    });
    act(() => source.emit("end"));
    expect(await screen.findByText("Container stopped")).toBeInTheDocument();
    // Activity (opening these very logs counts as one) must not reopen them: that was a loop
    // which kept a stopped environment's stopped limit from ever running out.
    act(() => fake.setQuery("containers:detail", environment({ lastActivityAt: NOW + 5_000 })));
    await new Promise((r) => setTimeout(r, 100));
    expect(FakeEventSource.instances).toHaveLength(1);
    // A status move (the restart's or the start's) reconnects from where the stream stopped.
    act(() => fake.setQuery("containers:detail", environment({ statusChangedAt: NOW + 6_000 })));
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(2));
    expect(FakeEventSource.latest().url).toContain("lastEventId=cursor-1");
  });

  it("ignores a stream message that is not a log event", async () => {
    openEnvironment();
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    const source = FakeEventSource.latest();
    act(() => {
      source.open();
      source.send("x", { nonsense: true });
      source.send("cursor-1", line(1));
    });
    expect(await screen.findByText("1 lines")).toBeInTheDocument();
  });

  it("says so when the id is not one of the user's environments", async () => {
    const { fake } = renderApp("/environments/nope");
    act(() => {
      fake.setQuery("repos:list", []);
      fake.setQuery("containers:detail", null);
    });
    expect(await screen.findByText("Environment not found")).toBeInTheDocument();
  });
});
