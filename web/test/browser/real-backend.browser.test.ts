/**
 * The dashboard in Chromium on the real Convex functions (convex-test behind the page through
 * convex-bridge.ts): what a person types reaches the same validation and access rules a
 * deployment runs, and what they see is what those functions answer.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, BOB, setupTest } from "../../../convex/test.setup";
import { bridgeConvex, type Identity } from "./helpers/convex-bridge";
import { openDashboard, screenshot, type Dashboard } from "./helpers/browser";

let dash: Dashboard;
let page: Page;
let t: ReturnType<typeof setupTest>;
const alice: Identity = { ...ALICE, email: "alice@acme.dev" };
const bob: Identity = { ...BOB, email: "bob@elsewhere.dev" };

beforeAll(async () => {
  t = setupTest();
  dash = await openDashboard();
  page = dash.page;
  await bridgeConvex(page, t, () => alice);
}, 120_000);

afterAll(async () => {
  await dash?.close();
});

async function signIn(page: Page, email: string) {
  await page.goto(dash.url);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Environments", exact: true }).waitFor();
}

describe("dashboard on the real functions", () => {
  it("adds a repository through the control plane's own validation", async () => {
    await signIn(page, "alice@acme.dev");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Repositories" }).click();
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

  it("shows another user none of it", async () => {
    // A browser of their own: nothing of Alice's session is shared.
    const bobPage = await dash.browser.newPage({ viewport: { width: 1360, height: 880 } });
    await bridgeConvex(bobPage, t, () => bob);
    await signIn(bobPage, "bob@elsewhere.dev");
    await bobPage.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Repositories" }).click();
    await bobPage.getByText("No repositories yet").waitFor();
    expect(await bobPage.getByRole("region", { name: "acme/shop" }).count()).toBe(0);
    await bobPage.close();
  });
});
