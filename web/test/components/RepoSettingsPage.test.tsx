// A repo's settings page on a fake Convex client: loading, not found, error and ready; saving
// through repoSettings.save and starting again from the saved version; the GitHub App's install
// state (and a failure to check it); read-only for a member who is not a team admin.
import { act, fireEvent, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { repo, settingsView, TEAMS, TEAMS_AS_MEMBER } from "../fake-convex/fixtures";
import { renderApp } from "../render";

const PATH = "/repos/acme/shop/settings";

function renderReady({ teams = TEAMS } = {}) {
  const view = renderApp(PATH);
  view.fake.on("github:installState", () => ({ state: "installed_linked", accountLogin: "acme" }));
  act(() => {
    view.fake.setQuery("teams:mine", teams);
    view.fake.setQuery("repos:byName", repo(), { owner: "acme", name: "shop" });
    view.fake.setQuery("repoSettings:get", settingsView(), { repoId: "r1" });
  });
  return view;
}

describe("RepoSettingsPage", () => {
  it("shows loading until the repo, its settings and the team answer", async () => {
    const { fake } = renderApp(PATH);
    fake.on("github:installState", () => ({ state: "not_configured" }));
    expect(await screen.findByRole("status", { name: "Loading settings" })).toBeInTheDocument();
    act(() => fake.setQuery("repos:byName", repo()));
    expect(screen.getByRole("status", { name: "Loading settings" })).toBeInTheDocument();
    act(() => fake.setQuery("repoSettings:get", settingsView()));
    act(() => fake.setQuery("teams:mine", TEAMS));
    expect(await screen.findByRole("form", { name: "Settings of acme/shop" })).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Settings of acme/shop" })).toBeInTheDocument();
  });

  it("shows the saved settings, variables by name only, and the install state", async () => {
    const { fake } = renderReady();
    const form = await screen.findByRole("form", { name: "Settings of acme/shop" });
    expect(within(form).getByRole("textbox", { name: /^Dev command/ })).toHaveValue("npm run dev");
    expect(within(form).getByText("DATABASE_URL")).toBeInTheDocument();
    expect(within(form).getAllByText("set")).toHaveLength(2);
    const app = within(form).getByRole("region", { name: "GitHub App" });
    expect(await within(app).findByText("Installed")).toBeInTheDocument();
    expect(fake.callsTo("github:installState")).toContainEqual({ repoId: "r1" });
    // Back from GitHub's install page in another tab: asked again.
    fake.on("github:installState", () => ({ state: "installed_not_linked", installUrl: "https://github.example/i" }));
    act(() => {
      window.dispatchEvent(new Event("focus"));
    });
    expect(await within(app).findByText("Not linked")).toBeInTheDocument();
    expect(within(app).getByRole("link", { name: "Link the GitHub App" })).toHaveAttribute(
      "href",
      "https://github.example/i",
    );
  });

  it("saves through repoSettings.save and starts again from the saved version", async () => {
    const { fake } = renderReady();
    fake.on("repoSettings:save", () => ({ version: 4 }));
    const dev = await screen.findByRole("textbox", { name: /^Dev command/ });
    fireEvent.change(dev, { target: { value: "npm  start" } });
    await act(async () => screen.getByRole("button", { name: "Save settings" }).click());
    const [call] = fake.callsTo("repoSettings:save");
    // With the version the form was loaded from, so a newer save by someone else is not overwritten.
    expect(call).toMatchObject({
      repoId: "r1",
      version: 3,
      input: { runtime: "docker", defaultBranch: "main", devCommand: "npm  start", ports: [3000] },
    });
    // Kept variables are sent by name, without a value.
    expect(call!.input).toMatchObject({ envVars: [{ name: "DATABASE_URL" }, { name: "API_KEY" }] });
    // The live query brings the saved version (as the server parsed it): the draft is rebuilt from it.
    act(() =>
      fake.setQuery("repoSettings:get", settingsView({ version: 4, devCommand: ["npm", "start"] }), { repoId: "r1" }),
    );
    expect(screen.getByRole("textbox", { name: /^Dev command/ })).toHaveValue("npm start");
    expect(screen.getByText("Saved. Environments set up from now on get these settings.")).toBeInTheDocument();
  });

  it("shows the server's refusal under the form", async () => {
    const { fake } = renderReady();
    fake.on("repoSettings:save", () => {
      throw new Error("Server Error Uncaught Error: Only team admins change settings");
    });
    const save = await screen.findByRole("button", { name: "Save settings" });
    await act(async () => save.click());
    expect(screen.getByRole("alert")).toHaveTextContent("Only team admins change settings");
  });

  it("is read-only for a member who is not a team admin", async () => {
    const { fake } = renderReady({ teams: TEAMS_AS_MEMBER });
    const form = await screen.findByRole("form", { name: "Settings of acme/shop" });
    expect(within(form).getByRole("textbox", { name: /^Dev command/ })).toBeDisabled();
    expect(within(form).getByRole("radio", { name: "Firecracker" })).toBeDisabled();
    expect(within(form).getByRole("button", { name: "Replace DATABASE_URL" })).toBeDisabled();
    expect(within(form).queryByRole("button", { name: "Save settings" })).not.toBeInTheDocument();
    expect(within(form).getByText("Only team admins change a repository's settings.")).toBeInTheDocument();
    expect(fake.callsTo("repoSettings:save")).toEqual([]);
  });

  it("says when the install state could not be checked", async () => {
    const { fake } = renderApp(PATH);
    fake.on("github:installState", () => {
      throw new Error("Server Error Uncaught Error: GitHub did not answer");
    });
    act(() => {
      fake.setQuery("teams:mine", TEAMS);
      fake.setQuery("repos:byName", repo());
      fake.setQuery("repoSettings:get", settingsView());
    });
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not check the GitHub App: GitHub did not answer");
  });

  it("says when the active team has no such repo", async () => {
    const { fake } = renderApp("/repos/acme/nope/settings");
    act(() => {
      fake.setQuery("teams:mine", TEAMS);
      fake.setQuery("repos:byName", null);
    });
    expect(await screen.findByText("Repository not found")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Go to repositories" })).toHaveAttribute("href", "/repos");
    expect(fake.callsTo("github:installState")).toEqual([]);
  });

  it("shows the error state when a query fails", async () => {
    const { fake } = renderApp(PATH);
    vi.spyOn(console, "error").mockImplementation(() => undefined); // React reports the boundary's catch
    act(() => fake.setQuery("repos:byName", new Error("Server Error Uncaught Error: boom")));
    expect(await screen.findByText("Something went wrong")).toBeInTheDocument();
    expect(screen.getByText("boom")).toBeInTheDocument();
    vi.restoreAllMocks();
  });

  it("is linked from each repo card", async () => {
    const { fake } = renderApp("/repos");
    act(() => fake.setQuery("repos:list", [repo()]));
    expect(await screen.findByRole("link", { name: "Settings of acme/shop" })).toHaveAttribute("href", PATH);
  });
});
