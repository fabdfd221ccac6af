// Covers src/setup/run-settings.ts's RunSecrets: the repo's variables per container in memory, bounded, forgotten.
import { describe, expect, it } from "vitest";
import { RUN_SECRETS_MAX_ENTRIES } from "../../src/config.js";
import { KeptSettings, RunSecrets } from "../../src/setup/run-settings.js";

describe("RunSecrets", () => {
  it("keeps a copy per container until forgotten", () => {
    const secrets = new RunSecrets();
    const vars = { DATABASE_URL: "postgres://u:p@db/app" };
    secrets.set("env-1", vars);
    vars.DATABASE_URL = "changed";
    expect(secrets.get("env-1")).toEqual({ DATABASE_URL: "postgres://u:p@db/app" });
    expect(secrets.get("env-2")).toBeNull();
    secrets.forget("env-1");
    expect(secrets.get("env-1")).toBeNull();
  });

  it("holds at most RUN_SECRETS_MAX_ENTRIES containers, dropping the longest unset", () => {
    const secrets = new RunSecrets();
    for (let i = 0; i < RUN_SECRETS_MAX_ENTRIES; i++) secrets.set(`env-${i}`, { N: String(i) });
    secrets.set("env-0", { N: "again" }); // set again: the newest now
    secrets.set("env-new", { N: "new" });
    expect(secrets.get("env-0")).toEqual({ N: "again" });
    expect(secrets.get("env-1")).toBeNull();
    expect(secrets.get("env-new")).toEqual({ N: "new" });
    expect(secrets.get(`env-${RUN_SECRETS_MAX_ENTRIES - 1}`)).not.toBeNull();
  });
});

describe("KeptSettings (what the workspace keeps)", () => {
  it("has names only: a value is not part of it", () => {
    const kept = KeptSettings.parse({
      devCommand: ["npm", "run", "dev"],
      envVarNames: ["DATABASE_URL"],
      envVars: { DATABASE_URL: "x" },
    });
    expect(JSON.stringify(kept)).not.toContain('"x"');
    expect(() => KeptSettings.parse({ envVarNames: ["not a name"] })).toThrow();
  });
});
