// Accepting an invite link on a fake Convex client: accept, switch to the team, land on the
// repositories; the control plane's refusals (used, expired, another address) said clearly; a
// signed-out visitor signs in first and comes back to the invitation.
import { act, fireEvent, screen } from "@testing-library/react";
import { ConvexError } from "convex/values";
import { describe, expect, it } from "vitest";
import { ME_USER, SIGNED_IN } from "../fake-convex/fixtures";
import { renderApp } from "../render";

describe("AcceptInvitePage", () => {
  it("accepts, switches to the team and opens the repositories", async () => {
    const { fake } = renderApp("/invite/tok-1");
    fake.on("invitations:accept", () => "t2");
    act(() => fake.setQuery("account:me", ME_USER));
    expect(await screen.findByRole("heading", { name: "Join a team" })).toBeInTheDocument();
    expect(screen.getByRole("region", { name: "Invitation" })).toHaveTextContent("signed in as bob@example.com");
    const accept = screen.getByRole("button", { name: "Accept invitation" });
    await act(async () => accept.click());
    expect(fake.callsTo("invitations:accept")).toEqual([{ token: "tok-1" }]);
    expect(fake.callsTo("teams:switchTo")).toEqual([{ teamId: "t2" }]);
    expect(await screen.findByRole("heading", { name: "Repositories" })).toBeInTheDocument();
  });

  it.each([
    [
      "a used or revoked link",
      { code: "not_found", message: "This invitation link is not valid, or it was already used or revoked" },
      "This invitation link is not valid, or it was already used or revoked. Ask a team admin for a new link.",
    ],
    [
      "an expired link",
      { code: "expired", message: "This invitation has expired; ask a team admin for a new one" },
      "This invitation has expired; ask a team admin for a new one",
    ],
    [
      "a link for another address",
      {
        code: "forbidden",
        message: "This invitation is for carol@example.com; sign in with that address to accept it",
      },
      "This invitation is for carol@example.com; sign in with that address to accept it",
    ],
  ])("says what is wrong with %s, and offers another account", async (_, data, text) => {
    const { fake } = renderApp("/invite/tok-1");
    fake.on("invitations:accept", () => {
      throw new ConvexError(data);
    });
    const accept = await screen.findByRole("button", { name: "Accept invitation" });
    await act(async () => accept.click());
    expect(screen.getByRole("alert")).toHaveTextContent(text);
    expect(fake.callsTo("teams:switchTo")).toEqual([]);
    expect(screen.getByRole("heading", { name: "Join a team" })).toBeInTheDocument();
    await act(async () => screen.getByRole("button", { name: "Sign in as someone else" }).click());
    expect(fake.callsTo("auth:signOut")).toEqual([{}]);
    expect(await screen.findByText("Sign in or create an account to accept your invitation.")).toBeInTheDocument();
  });

  it("asks a signed-out visitor to sign in, then comes back to the invitation", async () => {
    const { fake } = renderApp("/invite/tok-1", { signedIn: false });
    fake.on("auth:signIn", () => SIGNED_IN);
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Sign in or create an account to accept your invitation.");
    fireEvent.change(screen.getByLabelText("Email"), { target: { value: "bob@example.com" } });
    fireEvent.change(screen.getByLabelText("Password"), { target: { value: "a long password" } });
    await act(async () => screen.getByRole("button", { name: "Sign in" }).click());
    expect(await screen.findByRole("heading", { name: "Join a team" })).toBeInTheDocument();
    expect(fake.callsTo("invitations:accept")).toEqual([]); // joining is the person's click
  });
});
