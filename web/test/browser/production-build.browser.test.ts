/**
 * The production bundle (`npm run build`), served statically on 127.0.0.1 in Chromium: built
 * without a Convex URL it renders the instructions for connecting one, not a blank page, and
 * deep links work through the SPA fallback.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { PRODUCTION_DIST, WEB_ROOT } from "./global-setup";
import { openDashboard, screenshot, type Dashboard } from "./helpers/browser";

let dash: Dashboard;
beforeAll(async () => {
  dash = await openDashboard({ root: WEB_ROOT, outDir: PRODUCTION_DIST });
}, 60_000);
afterAll(async () => dash?.close());

it("says how to connect a Convex deployment when built without one", async () => {
  const errors: string[] = [];
  dash.page.on("pageerror", (err) => errors.push(err.message));
  await dash.page.goto(`${dash.url}/environments/some-id`);
  await dash.page.getByRole("heading", { name: "No Convex deployment configured" }).waitFor();
  expect(await dash.page.locator("body").innerText()).toContain("npx convex dev");
  expect(errors).toEqual([]);
  await screenshot(dash.page, "00-no-deployment");
});
