// Covers src/setup/setup-request.ts: the variables every setup process gets.
import { describe, expect, it } from "vitest";
import { envList, type Setup } from "../../src/setup/setup-request.js";

const req = (envVars: Record<string, string>) => ({ envVars }) as unknown as Setup;

describe("envList", () => {
  it("turns npm's update check off, then the repo's variables, then the agent's", () => {
    expect(envList(req({ DATABASE_URL: "postgres://db/app" }), ["PORT=3000"])).toEqual([
      "npm_config_update_notifier=false",
      "DATABASE_URL=postgres://db/app",
      "PORT=3000",
    ]);
  });
  it("leaves the update check to a repo that sets it, without a second entry", () => {
    expect(envList(req({ npm_config_update_notifier: "true" }), [])).toEqual(["npm_config_update_notifier=true"]);
  });
});
