/**
 * The dashboard in Chromium on the real Convex functions (convex-test behind the page through
 * convex-bridge.ts): what a person types reaches the same validation and access rules a
 * deployment runs, and what they see is what those functions answer. GitHub is the stand-in
 * (convex/test.githubStandIn.ts, verifying the App's JWTs and the OAuth code as GitHub does).
 * Flows: add a repository; its settings page saves a secret variable and shows it only as set;
 * the GitHub App's install state, linked through the setup redirect; a team admin invites a
 * member, who accepts and sees that team's repositories and, in their own team, none of them.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { stubDeployment } from "../../../convex/test.githubFixture";
import { ALICE, BOB, setupTest } from "../../../convex/test.setup";
import { bridgeConvex, type Identity } from "./helpers/convex-bridge";
import { openDashboard, screenshot, type Dashboard } from "./helpers/browser";

let dash: Dashboard;
let page: Page;
let t: ReturnType<typeof setupTest>;
let gh: Awaited<ReturnType<typeof stubDeployment>>["gh"];
const alice: Identity = { ...ALICE, email: "alice@acme.dev" };
const bob: Identity = { ...BOB, email: "bob@elsewhere.dev" };
const SECRET_VALUE = "postgres://db.internal/shop?password=hunter2-not-for-screens";

beforeAll(async () => {
  ({ gh } = await stubDeployment({
    installations: [{ id: 7, account: "acme", repos: ["shop"] }],
    users: [{ login: "alice-gh", installationIds: [7] }],
  }));
  t = setupTest();
  dash = await openDashboard();
  page = dash.page;
  await bridgeConvex(page, t, () => alice);
}, 120_000);

afterAll(async () => {
  await dash?.close();
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
});

async function signIn(on: Page, email: string, at = dash.url) {
  await on.goto(at);
  await on.getByRole("heading", { name: "Sign in" }).waitFor();
  await on.getByLabel("Email").fill(email);
  await on.getByLabel("Password").fill("correct horse battery");
  await on.getByRole("button", { name: "Sign in" }).click();
}

const nav = (on: Page, name: string) => on.getByRole("navigation", { name: "Main" }).getByRole("link", { name });

describe("dashboard on the real functions", () => {
  it("adds a repository through the control plane's own validation", async () => {
    await signIn(page, "alice@acme.dev");
    await page.getByRole("heading", { name: "Environments", exact: true }).waitFor();
    await nav(page, "Repositories").click();
    await page.getByText("No repositories yet").waitFor();
    await page.getByRole("button", { name: "Add repository" }).first().click();
    await page.getByLabel("Repository").fill("acme/..");
    await page.getByRole("button", { name: "Add on Docker" }).click();
    // The mutation's own words, not the form's.
    await page.getByText('"acme/.." is not a GitHub repository name').waitFor();
    await page.getByLabel("Repository").fill("acme/shop");
    await page.getByRole("button", { name: "Add on Docker" }).click();
    await page.getByRole("region", { name: "acme/shop" }).waitFor();
    await screenshot(page, "real-01-repo-added");
  });

  it("saves a secret variable and shows it as set, never its value", async () => {
    await page.getByRole("link", { name: "Settings of acme/shop" }).click();
    const form = page.getByRole("form", { name: "Settings of acme/shop" });
    await form.waitFor();
    await form.getByRole("button", { name: "Add variable" }).click();
    await form.getByLabel("Variable name").fill("DATABASE_URL");
    await form.getByLabel("Value of DATABASE_URL").fill(SECRET_VALUE);
    await form.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved.", { exact: false }).waitFor();
    // Stored sealed: the document holds a ciphertext, not the value.
    const stored = await t.run((ctx) => ctx.db.query("repoSettings").collect());
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain("hunter2");
    // A fresh load of the page: the variable is listed as set, and the value is nowhere on it.
    await page.reload();
    await form.waitFor();
    const row = form.getByRole("listitem").filter({ hasText: "DATABASE_URL" });
    await row.getByText("set", { exact: true }).waitFor();
    expect(await page.content()).not.toContain("hunter2");
    await screenshot(page, "real-02-settings-secret-set");
  });

  it("shows the GitHub App's install state and links it through GitHub's setup redirect", async () => {
    const note = page.getByRole("region", { name: "GitHub App" });
    await note.getByText("Not linked", { exact: true }).waitFor();
    const href = await note.getByRole("link", { name: "Link the GitHub App" }).getAttribute("href");
    const install = new URL(href!);
    expect(`${install.origin}${install.pathname}`).toBe(`${gh.origin}/apps/artie-test/installations/new`);
    const state = install.searchParams.get("state")!;
    // What GitHub does after the install: redirect to the App's setup URL with a user's code.
    const code = gh.authorize("alice-gh");
    await page.goto(`${dash.url}/github/setup?installation_id=7&setup_action=install&code=${code}&state=${state}`);
    await page.getByText("acme", { exact: false }).first().waitFor();
    await page
      .getByText(/Linked/)
      .first()
      .waitFor();
    await screenshot(page, "real-03-github-linked");
    await page.goto(`${dash.url}/repos/acme/shop/settings`);
    await note.getByText("Installed", { exact: true }).waitFor();
    // GitHub was asked with the App's JWT and the user's token, never given anything else.
    expect(gh.requests.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        "GET /repos/acme/shop/installation",
        "POST /login/oauth/access_token",
        "GET /user/installations",
      ]),
    );
  });

  it("invites a member, who accepts and sees only that team's repositories", async () => {
    await nav(page, "Team").click();
    const invite = page.getByRole("region", { name: "Invite someone" });
    await invite.getByLabel("Email").fill("bob@elsewhere.dev");
    await invite.getByRole("button", { name: "Invite" }).click();
    const link = await page.getByRole("textbox", { name: "Invite link" }).inputValue();
    expect(link).toMatch(new RegExp(`^${dash.url}/invite/[A-Za-z0-9_-]{20,}$`));
    // Stored only as a hash: the raw token is in no document.
    const token = link.split("/").pop()!;
    expect(JSON.stringify(await t.run((ctx) => ctx.db.query("invitations").collect()))).not.toContain(token);
    await screenshot(page, "real-04-invite-link");

    // Bob, in a browser of his own: signs in at the link, accepts, and lands in Alice's team.
    const bobPage = await dash.browser.newPage({ viewport: { width: 1360, height: 880 } });
    await bridgeConvex(bobPage, t, () => bob);
    await signIn(bobPage, "bob@elsewhere.dev", link);
    await bobPage.getByRole("button", { name: "Accept invitation" }).click();
    await bobPage.getByRole("region", { name: "acme/shop" }).waitFor();
    await screenshot(bobPage, "real-05-member-sees-team-repos");

    // In his personal team he sees none of them.
    const switcher = bobPage.getByLabel("Team");
    const personal = await switcher.locator("option", { hasNotText: "alice" }).first().getAttribute("value");
    await switcher.selectOption(personal);
    await bobPage.getByText("No repositories yet").waitFor();
    expect(await bobPage.getByRole("region", { name: "acme/shop" }).count()).toBe(0);

    // The link worked once.
    await bobPage.goto(link);
    await bobPage.getByRole("button", { name: "Accept invitation" }).click();
    await bobPage.getByRole("alert").waitFor();
    await bobPage.close();
  });

  it("shows another user none of it", async () => {
    const carolPage = await dash.browser.newPage({ viewport: { width: 1360, height: 880 } });
    const carol = { subject: "carol", issuer: "https://test", tokenIdentifier: "https://test|carol", email: "c@x.dev" };
    await bridgeConvex(carolPage, t, () => carol);
    await signIn(carolPage, "c@x.dev");
    await carolPage.getByRole("heading", { name: "Environments", exact: true }).waitFor();
    await nav(carolPage, "Repositories").click();
    await carolPage.getByText("No repositories yet").waitFor();
    await carolPage.goto(`${dash.url}/repos/acme/shop/settings`);
    await carolPage
      .getByText(/not found/i)
      .first()
      .waitFor();
    expect(await carolPage.content()).not.toContain("DATABASE_URL");
    await carolPage.close();
  });
});
