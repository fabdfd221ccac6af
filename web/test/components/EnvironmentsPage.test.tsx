// The environments table on a fake Convex client: loading, empty, error and ready states, and a
// status change pushed through the client re-rendering the row in place.
import { act, fireEvent, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { environment, repo } from "../fake-convex/fixtures";
import { renderApp } from "../render";

describe("EnvironmentsPage", () => {
  it("shows loading until both queries answer, then the rows", async () => {
    const { fake } = renderApp("/environments");
    expect(await screen.findByRole("status", { name: "Loading environments" })).toBeInTheDocument();
    act(() => fake.setQuery("containers:list", [environment()]));
    expect(screen.getByRole("status", { name: "Loading environments" })).toBeInTheDocument();
    act(() => fake.setQuery("repos:list", [repo()]));
    const row = screen.getByTestId("env-row-c1");
    expect(within(row).getByText("acme/shop")).toBeInTheDocument();
    expect(within(row).getByText("Ready")).toBeInTheDocument();
    expect(within(row).getByText(":10001")).toBeInTheDocument();
    expect(within(row).getByRole("link", { name: "Open ↗" })).toHaveAttribute("href", "http://127.0.0.1:10001");
    expect(row).toHaveTextContent("clone 700 ms");
    expect(row).toHaveTextContent("install 650 ms");
    expect(row).toHaveTextContent("active 2 min ago");
  });

  it("re-renders a row when a status change arrives, without a reload", async () => {
    const { fake } = renderApp("/environments");
    fake.setQuery("repos:list", [repo()]);
    act(() =>
      fake.setQuery("containers:list", [
        environment({ status: "installing", url: undefined, phaseDurations: { cloning: 700 } }),
      ]),
    );
    const row = await screen.findByTestId("env-row-c1");
    expect(within(row).getByText("Installing")).toBeInTheDocument();
    expect(within(row).queryByRole("link", { name: "Open ↗" })).toBeNull();

    act(() =>
      fake.setQuery("containers:list", [environment({ status: "error", error: "npm install failed: ENOSPC" })]),
    );
    expect(screen.getByTestId("env-row-c1")).toBe(row);
    expect(within(row).getByText("Failed")).toBeInTheDocument();
    expect(within(row).getByText("npm install failed: ENOSPC")).toBeInTheDocument();
  });

  it("has an empty state that leads to the repositories, and hides destroyed ones", async () => {
    const { fake } = renderApp("/environments");
    act(() => {
      fake.setQuery("repos:list", []);
      fake.setQuery("containers:list", [environment({ status: "destroyed" })]);
    });
    expect(await screen.findByText("No environments yet")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Choose a repository" })).toHaveAttribute("href", "/repos");
    act(() => screen.getByLabelText("Show destroyed").click());
    expect(screen.getByText("Destroyed")).toBeInTheDocument();
  });

  it("shows a failed query as an error state with its message", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined); // React reports the caught error
    const { fake } = renderApp("/environments");
    act(() => fake.setQuery("containers:list", new Error("Server Error Uncaught Error: Sign in first")));
    expect(await screen.findByRole("alert")).toHaveTextContent("Sign in first");
  });

  it("marks live environments set up with older settings than their repo's", async () => {
    const { fake } = renderApp("/environments");
    act(() => {
      fake.setQuery("repos:list", [repo({ settingsVersion: 3 })]);
      fake.setQuery("containers:list", [
        environment({ _id: "c1" as never, settingsVersion: 2 }),
        environment({ _id: "c2" as never, settingsVersion: 3 }),
        environment({ _id: "c3" as never, settingsVersion: 1, status: "destroyed" }),
      ]);
    });
    fireEvent.click(await screen.findByRole("checkbox", { name: "Show destroyed" }));
    const marker = within(screen.getByTestId("env-row-c1")).getByText("older settings");
    expect(marker).toHaveAttribute("title", expect.stringContaining("the next environment gets the new settings"));
    expect(marker).toHaveAttribute("title", expect.stringContaining("version 2"));
    expect(within(screen.getByTestId("env-row-c2")).queryByText("older settings")).not.toBeInTheDocument();
    expect(within(screen.getByTestId("env-row-c3")).queryByText("older settings")).not.toBeInTheDocument();
    // A save elsewhere raises the repo's version: the row says so without a reload.
    act(() => fake.setQuery("repos:list", [repo({ settingsVersion: 4 })]));
    expect(within(screen.getByTestId("env-row-c2")).getByText("older settings")).toBeInTheDocument();
  });
});
