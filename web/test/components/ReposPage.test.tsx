// Repositories on a fake Convex client: the runtime toggle calls the mutation, a request opens
// the new environment, adding a repo checks the name first, and the main image is described.
import { act, fireEvent, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { repo, TEAMS, TEAMS_AS_MEMBER } from "../fake-convex/fixtures";
import { renderApp } from "../render";

describe("ReposPage", () => {
  it("switches the runtime through repos.setRuntime", async () => {
    const { fake } = renderApp("/repos");
    act(() => fake.setQuery("teams:mine", TEAMS));
    act(() => fake.setQuery("repos:list", [repo()]));
    const toggle = await screen.findByRole("radiogroup", { name: "Runtime of acme/shop" });
    expect(within(toggle).getByRole("radio", { name: "Docker" })).toHaveAttribute("aria-checked", "true");
    await act(async () => within(toggle).getByRole("radio", { name: "Firecracker" }).click());
    expect(fake.callsTo("repos:setRuntime")).toEqual([{ owner: "acme", name: "shop", runtime: "firecracker" }]);
  });

  it("shows a member the runtime without letting them change it", async () => {
    const { fake } = renderApp("/repos");
    act(() => fake.setQuery("teams:mine", TEAMS_AS_MEMBER));
    act(() => fake.setQuery("repos:list", [repo()]));
    const toggle = await screen.findByRole("radiogroup", { name: "Runtime of acme/shop" });
    expect(within(toggle).getByRole("radio", { name: "Firecracker" })).toBeDisabled();
    expect(within(toggle).getByRole("radio", { name: "Docker" })).toHaveAttribute("aria-checked", "true");
  });

  it("describes the main image, or says when it will be built", async () => {
    const { fake } = renderApp("/repos");
    act(() => fake.setQuery("repos:list", [repo(), repo({ _id: "r2" as never, name: "api", mainImage: undefined })]));
    const shop = await screen.findByRole("region", { name: "acme/shop" });
    expect(shop).toHaveTextContent("acme-shop:main");
    expect(shop).toHaveTextContent("3f9c2e1");
    expect(shop).toHaveTextContent("built 3 h ago in 41 s");
    expect(screen.getByRole("region", { name: "acme/api" })).toHaveTextContent(
      "Not built yet: the first setup of main builds it.",
    );
  });

  it("requests an environment for the branch typed and opens it", async () => {
    const { fake } = renderApp("/repos");
    fake.on("containers:request", () => "c9");
    act(() => fake.setQuery("repos:list", [repo()]));
    const branch = await screen.findByRole("textbox", { name: "Branch of acme/shop" });
    fireEvent.change(branch, { target: { value: "feature/cart " } });
    act(() => fake.setQuery("containers:detail", null));
    await act(async () => screen.getByRole("button", { name: "Request environment" }).click());
    expect(fake.callsTo("containers:request")).toEqual([{ repoId: "r1", branch: "feature/cart" }]);
    expect(await screen.findByText("Environment not found")).toBeInTheDocument(); // navigated to /environments/c9
  });

  it("shows the server's refusal next to the form, keeping what was typed", async () => {
    const { fake } = renderApp("/repos");
    fake.on("containers:request", () => {
      throw new Error('Server Error Uncaught Error: "x..y" is not a branch name');
    });
    act(() => fake.setQuery("repos:list", [repo()]));
    const branch = await screen.findByRole("textbox", { name: "Branch of acme/shop" });
    fireEvent.change(branch, { target: { value: "x..y" } });
    await act(async () => screen.getByRole("button", { name: "Request environment" }).click());
    expect(screen.getByRole("alert")).toHaveTextContent('"x..y" is not a branch name');
    expect(branch).toHaveValue("x..y");
  });

  it("disables requests for a repo on firecracker, and says why", async () => {
    const { fake } = renderApp("/repos");
    act(() => fake.setQuery("repos:list", [repo({ runtime: "firecracker" })]));
    expect(await screen.findByRole("button", { name: "Request environment" })).toBeDisabled();
    expect(screen.getByText("Switch the runtime to Docker to request environments here.")).toBeInTheDocument();
  });

  it("adds a repository on docker, refusing a name without owner/", async () => {
    const { fake } = renderApp("/repos");
    act(() => fake.setQuery("repos:list", []));
    const [add] = await screen.findAllByRole("button", { name: "Add repository" });
    await act(async () => add!.click());
    const name = screen.getByPlaceholderText("owner/name");
    fireEvent.change(name, { target: { value: "shop" } });
    await act(async () => screen.getByRole("button", { name: "Add on Docker" }).click());
    expect(screen.getByRole("alert")).toHaveTextContent("owner/name");
    expect(fake.callsTo("repos:setRuntime")).toEqual([]);
    fireEvent.change(name, { target: { value: "acme/shop" } });
    await act(async () => screen.getByRole("button", { name: "Add on Docker" }).click());
    expect(fake.callsTo("repos:setRuntime")).toEqual([
      { owner: "acme", name: "shop", defaultBranch: "main", runtime: "docker" },
    ]);
  });
});
