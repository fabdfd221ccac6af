// The repo settings form on its own: checked with the control plane's own rules before onSave,
// variables by name only (a value typed is sent once and then gone), and the GitHub App's state.
import type { RepoSettingsInput } from "@convex/settingsRules";
import type { RepoSettingsView } from "@convex/settingsView";
import { act, fireEvent, render, screen, within } from "@testing-library/react";
import { ConvexError } from "convex/values";
import { describe, expect, it, vi } from "vitest";
import type { InstallState } from "../../src/modules/repos/InstallStateNote";
import { RepoSettingsForm } from "../../src/modules/repos/RepoSettingsForm";

const VIEW: RepoSettingsView = {
  runtime: "firecracker",
  defaultBranch: "main",
  version: 2,
  devCommand: ["npm", "run", "dev", "--", "--host", "0.0.0.0"],
  ports: [3000],
  envVars: [
    { name: "DATABASE_URL", set: true },
    { name: "API_KEY", set: true },
  ],
  updatedAt: 1,
};
const LINKED: InstallState = { state: "installed_linked" };

function renderForm(
  opts: {
    settings?: RepoSettingsView;
    installState?: InstallState | undefined;
    onSave?: (input: RepoSettingsInput) => Promise<unknown>;
  } = {},
) {
  const onSave = vi.fn(opts.onSave ?? (() => Promise.resolve()));
  // An explicit `installState: undefined` is "still checking", not the default.
  const installState = "installState" in opts ? opts.installState : LINKED;
  const view = render(
    <RepoSettingsForm repo="acme/web" settings={opts.settings ?? VIEW} installState={installState} onSave={onSave} />,
  );
  return { onSave, ...view };
}

const box = (name: RegExp) => screen.getByRole("textbox", { name });
const change = (el: HTMLElement, value: string) => fireEvent.change(el, { target: { value } });
const save = () => act(async () => screen.getByRole("button", { name: "Save settings" }).click());

describe("RepoSettingsForm", () => {
  it("shows the view: runtime, one-line command, ports, variables", () => {
    renderForm();
    expect(screen.getByRole("radio", { name: "Firecracker" })).toHaveAttribute("aria-checked", "true");
    expect(box(/Dev command/)).toHaveValue("npm run dev -- --host 0.0.0.0");
    expect(box(/Container ports/)).toHaveValue("3000");
    expect(box(/Base image/)).toHaveValue("");
  });

  it("saves valid input as the rules take it, keeping stored variables by name", async () => {
    const { onSave } = renderForm();
    fireEvent.click(screen.getByRole("radio", { name: "Docker" }));
    change(box(/Default branch/), "develop");
    change(box(/Dev command/), `node server.js --name 'my app'`);
    change(box(/Install command/), "pnpm install --frozen-lockfile");
    change(box(/Base image/), "node:22-slim");
    change(box(/Container ports/), "3000, 5173");
    change(box(/Memory/), "1024");
    change(box(/CPUs/), "0.5");
    change(box(/Idle limit/), "30");
    await save();
    expect(onSave).toHaveBeenCalledTimes(1);
    expect(onSave.mock.calls[0]![0]).toEqual({
      runtime: "docker",
      defaultBranch: "develop",
      devCommand: "node server.js --name 'my app'",
      installCommand: "pnpm install --frozen-lockfile",
      baseImage: "node:22-slim",
      ports: [3000, 5173],
      limits: { memoryMb: 1024, cpus: 0.5 },
      idleLimitMinutes: 30,
      envVars: [{ name: "DATABASE_URL" }, { name: "API_KEY" }],
    });
    expect(await screen.findByText(/Saved; the next setup uses these settings/)).toBeInTheDocument();
  });

  it("shows each problem next to its field and sends nothing", async () => {
    const { onSave } = renderForm();
    change(box(/Default branch/), "a..b");
    change(box(/Dev command/), "npm i && npm run dev");
    change(box(/Base image/), "Node:24");
    change(box(/Container ports/), "80");
    change(box(/Memory/), "99999");
    change(box(/Idle limit/), "1");
    await save();
    expect(onSave).not.toHaveBeenCalled();
    const fieldOf = (name: RegExp) => box(name).closest("label")!;
    expect(fieldOf(/Default branch/)).toHaveTextContent(/A git branch name/);
    expect(fieldOf(/Dev command/)).toHaveTextContent(/runs without a shell, so & would reach the program/);
    expect(fieldOf(/Base image/)).toHaveTextContent(/A Docker image reference/);
    expect(fieldOf(/Container ports/)).toHaveTextContent("1-4 different ports from 1024 to 65535");
    expect(fieldOf(/Memory/)).toHaveTextContent("A whole number of MB of memory from 16 to 2048");
    expect(fieldOf(/Idle limit/)).toHaveTextContent(/A whole number of minutes from 5/);
    expect(box(/Container ports/)).toHaveAttribute("aria-invalid", "true");
    expect(box(/CPUs/)).toHaveAttribute("aria-invalid", "false");
  });

  it("shows a stored secret as set, with no value anywhere on the page", () => {
    const { container } = renderForm();
    const row = screen.getByText("DATABASE_URL").closest("li")!;
    expect(within(row).getByText("set")).toBeInTheDocument();
    expect(within(row).queryByRole("textbox")).toBeNull();
    expect(row.querySelector("input")).toBeNull();
    for (const input of container.querySelectorAll("input[type=password]")) expect(input).toHaveValue("");
  });

  it("replaces a value (masked), can keep the saved one instead, and removes with undo", async () => {
    const { onSave } = renderForm();
    fireEvent.click(screen.getByRole("button", { name: "Replace DATABASE_URL" }));
    const newValue = screen.getByLabelText("New value of DATABASE_URL");
    expect(newValue).toHaveAttribute("type", "password");
    change(newValue, "postgres://new");

    fireEvent.click(screen.getByRole("button", { name: "Remove API_KEY" }));
    expect(screen.getByText("API_KEY").closest("li")).toHaveTextContent("removed when you save");
    fireEvent.click(screen.getByRole("button", { name: "Undo" }));
    expect(screen.getByText("API_KEY").closest("li")).toHaveTextContent("set");
    fireEvent.click(screen.getByRole("button", { name: "Remove API_KEY" }));

    await save();
    expect(onSave.mock.calls[0]![0].envVars).toEqual([{ name: "DATABASE_URL", value: "postgres://new" }]);
    // Once saved the value is gone from the page: the variable is just "set" again.
    expect(screen.queryByLabelText("New value of DATABASE_URL")).toBeNull();
    expect(screen.getByText("DATABASE_URL").closest("li")).toHaveTextContent("set");
    expect(screen.queryByText("API_KEY")).toBeNull();

    fireEvent.click(screen.getByRole("button", { name: "Replace DATABASE_URL" }));
    change(screen.getByLabelText("New value of DATABASE_URL"), "x");
    fireEvent.click(screen.getByRole("button", { name: "Keep the saved value of DATABASE_URL" }));
    await save();
    expect(onSave.mock.calls[1]![0].envVars).toEqual([{ name: "DATABASE_URL" }]);
  });

  it("adds a variable with a masked value, refuses a reserved name with why, and clears the value after save", async () => {
    const { onSave, container } = renderForm({ settings: { ...VIEW, envVars: [] } });
    expect(screen.getByText("No variables.")).toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: "Add variable" }));
    change(screen.getByRole("textbox", { name: "Variable name" }), "PORT");
    const value = screen.getByLabelText("Value of PORT");
    expect(value).toHaveAttribute("type", "password");
    change(value, "9999");
    await save();
    expect(onSave).not.toHaveBeenCalled();
    expect(screen.getByRole("textbox", { name: "Variable name" }).closest("li")).toHaveTextContent(
      /PORT is set by the agent: it tells the dev server where to listen/,
    );

    change(screen.getByRole("textbox", { name: "Variable name" }), "STRIPE_KEY");
    change(screen.getByLabelText("Value of STRIPE_KEY"), "sk_test_secret");
    await save();
    expect(onSave.mock.calls[0]![0].envVars).toEqual([{ name: "STRIPE_KEY", value: "sk_test_secret" }]);
    expect(screen.getByText("STRIPE_KEY").closest("li")).toHaveTextContent("set");
    expect(screen.queryByLabelText("Value of STRIPE_KEY")).toBeNull();
    expect(container.innerHTML).not.toContain("sk_test_secret");
  });

  it("a new variable can be discarded before saving", async () => {
    const { onSave } = renderForm();
    fireEvent.click(screen.getByRole("button", { name: "Add variable" }));
    fireEvent.click(screen.getByRole("button", { name: "Discard new variable" }));
    await save();
    expect(onSave.mock.calls[0]![0].envVars).toEqual([{ name: "DATABASE_URL" }, { name: "API_KEY" }]);
  });

  it("shows the server's refusal under the form", async () => {
    const onSave = vi.fn(() =>
      Promise.reject(new ConvexError({ code: "forbidden", message: "Only admins change settings" })),
    );
    renderForm({ onSave });
    await save();
    expect(await screen.findByRole("alert")).toHaveTextContent("Only admins change settings");
  });

  it.each([
    ["installed_linked", "Installed", /installed on acme\/web and linked to this team/, null],
    ["installed_not_linked", "Not linked", /not linked to this team/, "Link the GitHub App"],
    ["not_installed", "Not installed", /not installed on acme\/web.*install the GitHub App/, "Install the GitHub App"],
    ["not_configured", "Not configured", /GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY are not set/, null],
  ] as const)("shows the GitHub App state %s", (state, badge, text, link) => {
    const installUrl = state === "not_configured" ? undefined : "https://github.com/apps/artie/installations/new";
    renderForm({ installState: { state, installUrl } });
    const region = screen.getByRole("region", { name: "GitHub App" });
    expect(within(region).getByText(badge)).toBeInTheDocument();
    expect(region).toHaveTextContent(text);
    if (link) expect(within(region).getByRole("link", { name: link })).toHaveAttribute("href", installUrl);
    else expect(within(region).queryByRole("link")).toBeNull();
  });

  it("says while the install state is being checked", () => {
    renderForm({ installState: undefined });
    expect(within(screen.getByRole("region", { name: "GitHub App" })).getByRole("status")).toHaveTextContent(
      "Checking the GitHub App",
    );
  });
});
