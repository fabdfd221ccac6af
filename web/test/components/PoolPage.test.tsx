// The pool page on a fake Convex client: counts against the config, the form checked with the
// control plane's own rules before sending, and the host's health from the agent.
import { act, fireEvent, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ME_ADMIN, ME_USER, POOL_STATUS } from "../fake-convex/fixtures";
import { renderApp } from "../render";

const HEALTHY = {
  reachable: true,
  status: "ok",
  containerCount: 7,
  uptime: 3_725,
  docker: { reachable: true, version: "20.10.24", apiVersion: "1.41" },
  isolation: {
    enabled: true,
    runtime: "runc",
    egressAllowlist: ["registry.example.com", "*.githubusercontent.com"],
    egressDenylist: [],
    egressDenied: 4,
  },
};

describe("PoolPage", () => {
  it("shows ready, creating and assigned against the target", async () => {
    const { fake } = renderApp("/pool");
    fake.on("hostAgent:health", () => HEALTHY);
    act(() => {
      fake.setQuery("pool:status", POOL_STATUS);
      fake.setQuery("account:me", ME_ADMIN);
    });
    expect(await screen.findByTestId("stat-Ready in pool")).toHaveTextContent("2");
    expect(screen.getByTestId("stat-Creating")).toHaveTextContent("1");
    expect(screen.getByTestId("stat-Assigned")).toHaveTextContent("4");
    expect(screen.getByText("target 3, minimum 1")).toBeInTheDocument();
  });

  it("refuses out-of-bounds values field by field and sends nothing", async () => {
    const { fake } = renderApp("/pool");
    act(() => {
      fake.setQuery("pool:status", POOL_STATUS);
      fake.setQuery("account:me", ME_ADMIN);
    });
    const target = await screen.findByRole("textbox", { name: /Target size/ });
    fireEvent.change(target, { target: { value: "51" } });
    fireEvent.change(screen.getByRole("textbox", { name: /Container ports/ }), { target: { value: "3000, 70000" } });
    expect(screen.getByText("targetSize must be a whole number from 0 to 50")).toBeInTheDocument();
    expect(screen.getByText(/containerPorts must be 1-4 different ports/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Save configuration" })).toBeDisabled();
    expect(fake.callsTo("pool:updateConfig")).toEqual([]);
  });

  it("saves a valid configuration through pool.updateConfig", async () => {
    const { fake } = renderApp("/pool");
    act(() => {
      fake.setQuery("pool:status", POOL_STATUS);
      fake.setQuery("account:me", ME_ADMIN);
    });
    fireEvent.change(await screen.findByRole("textbox", { name: /Target size/ }), { target: { value: "5" } });
    fireEvent.change(screen.getByRole("textbox", { name: /Container ports/ }), { target: { value: "3000 5173" } });
    fireEvent.change(screen.getByRole("textbox", { name: /Stopped limit/ }), { target: { value: "4" } });
    expect(screen.getByRole("button", { name: "Save configuration" })).toBeDisabled(); // under the minimum
    fireEvent.change(screen.getByRole("textbox", { name: /Stopped limit/ }), { target: { value: "600" } });
    await act(async () => screen.getByRole("button", { name: "Save configuration" }).click());
    expect(fake.callsTo("pool:updateConfig")).toEqual([
      {
        targetSize: 5,
        minSize: 1,
        maxCreating: 2,
        containerPorts: [3000, 5173],
        idleLimitMinutes: 120,
        stoppedLimitMinutes: 600,
      },
    ]);
  });

  it("shows the host's health, and an unreachable agent with its reason", async () => {
    const { fake } = renderApp("/pool");
    fake.on("hostAgent:health", () => HEALTHY);
    act(() => {
      fake.setQuery("pool:status", POOL_STATUS);
      fake.setQuery("account:me", ME_ADMIN);
    });
    const card = await screen.findByRole("region", { name: "Host health" });
    expect(await within(card).findByText("Healthy")).toBeInTheDocument();
    expect(card).toHaveTextContent("Engine 20.10.24 (API 1.41)");
    expect(card).toHaveTextContent("1 h 2 m");
    expect(card).toHaveTextContent("A network of its own per environment, runc");
    expect(card).toHaveTextContent("registry.example.com, *.githubusercontent.com");
    expect(card).toHaveTextContent("Refused requests4");

    fake.on("hostAgent:health", () => ({
      reachable: false,
      error: "The Docker host agent at http://h:8080 is not reachable",
    }));
    await act(async () => within(card).getByRole("button", { name: "Refresh" }).click());
    expect(await within(card).findByText("Unreachable")).toBeInTheDocument();
    expect(card).toHaveTextContent("is not reachable");
  });

  it("shows isolation that is off, and an empty allowlist as no egress", async () => {
    const { fake } = renderApp("/pool");
    fake.on("hostAgent:health", () => ({
      ...HEALTHY,
      isolation: { ...HEALTHY.isolation, enabled: false, egressAllowlist: [], runtime: "runsc" },
    }));
    act(() => {
      fake.setQuery("pool:status", POOL_STATUS);
      fake.setQuery("account:me", ME_ADMIN);
    });
    const card = await screen.findByRole("region", { name: "Host health" });
    expect(await within(card).findByText("Off: one shared network")).toBeInTheDocument();
    expect(card).toHaveTextContent("gVisor (runsc)");
    expect(card).toHaveTextContent("empty: no egress");
  });

  it("shows the pool read-only to anyone but a host admin, and no host health", async () => {
    const { fake } = renderApp("/pool");
    act(() => {
      fake.setQuery("pool:status", POOL_STATUS);
      fake.setQuery("account:me", ME_USER);
    });
    const target = await screen.findByRole("textbox", { name: /Target size/ });
    expect(target).toHaveAttribute("readonly");
    expect(screen.queryByRole("button", { name: "Save configuration" })).toBeNull();
    expect(screen.getByText(/Only host admins/)).toBeInTheDocument();
    expect(fake.callsTo("hostAgent:health")).toEqual([]);
  });
});
