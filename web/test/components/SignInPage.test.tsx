// Signing in through Convex Auth's real provider on a fake client: the password sign-in action
// is called with what was typed, a refusal is explained, and success opens the app.
import { act, fireEvent, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { SIGNED_IN } from "../fake-convex/fixtures";
import { renderApp } from "../render";

function fill(email: string, password: string) {
  fireEvent.change(screen.getByLabelText("Email"), { target: { value: email } });
  fireEvent.change(screen.getByLabelText("Password"), { target: { value: password } });
}

describe("SignInPage", () => {
  it("signs in with email and password, then shows the environments", async () => {
    const { fake } = renderApp("/environments", { signedIn: false });
    fake.on("auth:signIn", () => SIGNED_IN);
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
    fill("alice@acme.dev", "correct horse battery");
    await act(async () => screen.getByRole("button", { name: "Sign in" }).click());
    expect(fake.callsTo("auth:signIn")).toEqual([
      expect.objectContaining({
        provider: "password",
        params: { email: "alice@acme.dev", password: "correct horse battery", flow: "signIn" },
      }),
    ]);
    expect(await screen.findByRole("heading", { name: "Environments" })).toBeInTheDocument();
  });

  it("explains a refused sign-in and stays on the form", async () => {
    const { fake } = renderApp("/environments", { signedIn: false });
    fake.on("auth:signIn", () => {
      throw new Error("Uncaught Error: InvalidSecret");
    });
    await screen.findByRole("heading", { name: "Sign in" });
    fill("alice@acme.dev", "wrong password");
    await act(async () => screen.getByRole("button", { name: "Sign in" }).click());
    expect(screen.getByRole("alert")).toHaveTextContent("That email and password do not match an account.");
    expect(screen.getByLabelText("Email")).toHaveValue("alice@acme.dev");
  });

  it("creates an account with the signUp flow", async () => {
    const { fake } = renderApp("/", { signedIn: false });
    fake.on("auth:signIn", () => SIGNED_IN);
    const button = await screen.findByRole("button", { name: "Create an account" });
    await act(async () => button.click());
    fill("bob@acme.dev", "a long enough password");
    await act(async () => screen.getByRole("button", { name: "Create account" }).click());
    expect(fake.callsTo("auth:signIn")[0]).toMatchObject({ params: { flow: "signUp", email: "bob@acme.dev" } });
  });
});
