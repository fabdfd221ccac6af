// The frame around every page: the live-connection indicator follows the client's connection,
// sign-out goes through Convex Auth and lands on the sign-in page, unknown paths say so.
import { act, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderApp } from "../render";

describe("AppShell", () => {
  it("shows when live updates are interrupted, and when they are back", async () => {
    const { fake } = renderApp("/environments");
    expect(await screen.findByText("Live")).toBeInTheDocument();
    act(() => fake.setConnected(false));
    expect(screen.getByText("Reconnecting…")).toBeInTheDocument();
    act(() => fake.setConnected(true));
    expect(screen.getByText("Live")).toBeInTheDocument();
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
});
