// The frame around every page: the live-connection indicator follows the client's connection,
// sign-out goes through Convex Auth and lands on the sign-in page, unknown paths say so.
import { act, fireEvent, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { TEAMS } from "../fake-convex/fixtures";
import { renderApp } from "../render";

describe("AppShell", () => {
  it("shows when live updates are interrupted, and when they are back", async () => {
    const { fake } = renderApp("/environments");
    expect(await screen.findByText("Live")).toBeInTheDocument();
    // The hook subscribes in an effect, which may land after the first "Live": wait, don't assume.
    act(() => fake.setConnected(false));
    expect(await screen.findByText("Reconnecting…")).toBeInTheDocument();
    act(() => fake.setConnected(true));
    expect(await screen.findByText("Live")).toBeInTheDocument();
  });

  it("signs out through Convex Auth", async () => {
    const { fake } = renderApp("/environments");
    const signOut = await screen.findByRole("button", { name: "Sign out" });
    await act(async () => signOut.click());
    expect(fake.callsTo("auth:signOut")).toEqual([{}]);
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
  });

  it("answers an unknown path with a way back", async () => {
    renderApp("/nowhere");
    expect(await screen.findByText("Nothing here")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Go to environments" })).toHaveAttribute("href", "/environments");
  });

  it("switches the active team through teams.switchTo", async () => {
    const { fake } = renderApp("/environments");
    act(() => fake.setQuery("teams:mine", TEAMS));
    const select = await screen.findByRole("combobox", { name: "Team" });
    expect(select).toHaveValue("t1");
    await act(async () => fireEvent.change(select, { target: { value: "t2" } }));
    expect(fake.callsTo("teams:switchTo")).toEqual([{ teamId: "t2" }]);
  });

  it("makes a personal team for a user who has none", async () => {
    const { fake } = renderApp("/environments");
    act(() => fake.setQuery("teams:mine", []));
    await vi.waitFor(() => expect(fake.callsTo("teams:ensurePersonal")).toEqual([{}]));
  });
});
