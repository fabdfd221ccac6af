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
  problems: [],
  pulls: [],
};

const GB = 1024 ** 3;
/** A 16 GB host with three 2 GB environments running and its disk under the guard's floor. */
const DEGRADED = {
  ...HEALTHY,
  status: "degraded",
  problems: ["disk below MIN_FREE_DISK_GB: 3.2 GB free of 100 GB; run npx artie-host prune"],
  capacity: {
    memoryTotalBytes: 16 * GB,
    memoryAvailableBytes: 9 * GB,
    cpus: 8,
    load1: 1.5,
    source: "os",
    allocatedMemoryBytes: 6 * GB,
    allocatedCpus: 3,
    disk: {
      path: "/var/lib/docker",
      totalBytes: 100 * GB,
      freeBytes: 3.2 * GB,
      usedBytes: 96.8 * GB,
      minFreeBytes: 5 * GB,
      low: true,
    },
    containers: { running: 3, stopped: 2, total: 5 },
    images: 12,
    volumes: 9,
  },
  pulls: [{ image: "node:24-slim", state: "failed", error: "registry unreachable" }],
  lastPrune: { finishedAt: "2026-12-01T10:00:00.000Z", removed: 4, bytesFreed: 1.5 * GB },
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

  it("shows the host's capacity as the seed's table reasons about it, and why it is degraded", async () => {
    const { fake } = renderApp("/pool");
    fake.on("hostAgent:health", () => DEGRADED);
    act(() => {
      fake.setQuery("pool:status", POOL_STATUS);
      fake.setQuery("account:me", ME_ADMIN);
    });
    const card = await screen.findByRole("region", { name: "Host health" });
    expect(await within(card).findByText("Degraded")).toBeInTheDocument();
    expect(card).toHaveTextContent("disk below MIN_FREE_DISK_GB: 3.2 GB free of 100 GB; run npx artie-host prune");
    expect(card).toHaveTextContent("3 running, 2 stopped");
    expect(card).toHaveTextContent("6.0 GB allowed to environments of 16 GB (9.0 GB available)");
    expect(card).toHaveTextContent("3 allowed of 8, load 1.50");
    expect(card).toHaveTextContent("Low 3.2 GB free of 100 GB; 12 images, 9 volumes");
    expect(card).toHaveTextContent("node:24-slim (failed)");
    expect(card).toHaveTextContent("4 removed, 1.5 GB freed");
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
