// The GitHub App's setup redirect on a fake Convex client: completeInstall called once with the
// redirect's installation, code and state, and the linked account shown; a missing code says which
// App setting to enable; the server's refusal is shown; a requested installation waits.
import { act, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderApp } from "../render";

const REDIRECT = "/github/setup?installation_id=4242&setup_action=install&code=c0de&state=st4te";

describe("GitHubSetupPage", () => {
  it("links the installation once (even with effects run twice) and shows the account", async () => {
    const { fake } = renderApp(REDIRECT, { strict: true });
    fake.on("github:completeInstall", () => ({ accountLogin: "acme" }));
    const card = await screen.findByRole("region", { name: "GitHub App installation" });
    expect(await screen.findByText("Linked")).toBeInTheDocument();
    expect(card).toHaveTextContent("The GitHub App installation on acme is linked to your team");
    expect(fake.callsTo("github:completeInstall")).toEqual([{ installationId: 4242, code: "c0de", state: "st4te" }]);
    expect(screen.getByRole("link", { name: "Go to repositories" })).toHaveAttribute("href", "/repos");
  });

  it("says to enable user authorization when GitHub sent no code", async () => {
    const { fake } = renderApp("/github/setup?installation_id=4242&setup_action=install&state=st4te");
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Enable “Request user authorization (OAuth) during installation” in the App's settings",
    );
    expect(fake.callsTo("github:completeInstall")).toEqual([]);
  });

  it("says when the address carries no installation", async () => {
    const { fake } = renderApp("/github/setup");
    expect(await screen.findByRole("alert")).toHaveTextContent("This address carries no GitHub App installation");
    expect(fake.callsTo("github:completeInstall")).toEqual([]);
  });

  it("shows the control plane's refusal", async () => {
    const { fake } = renderApp(REDIRECT);
    fake.on("github:completeInstall", () => {
      throw new Error("Server Error Uncaught Error: GitHub does not list installation 4242 for you");
    });
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Could not link the installation: GitHub does not list installation 4242 for you",
    );
    expect(fake.callsTo("github:completeInstall")).toHaveLength(1);
  });

  it("waits for an owner's approval of a requested installation", async () => {
    const { fake } = renderApp("/github/setup?setup_action=request");
    await act(async () => undefined);
    expect(await screen.findByText(/The installation was requested/)).toBeInTheDocument();
    expect(fake.callsTo("github:completeInstall")).toEqual([]);
  });
});
