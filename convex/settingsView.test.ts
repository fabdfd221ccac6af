// A stored settings document and what leaves it: the public view (names only), the agent's setup
// fields (values opened for their place), and a save's sealed list, with the real cipher.
import { describe, expect, it } from "vitest";
import type { Id } from "./_generated/dataModel";
import { decryptSecret, encryptSecret, parseKey } from "./crypto";
import {
  agentSetupFields,
  envVarAad,
  publicSettingsView,
  sealEnvVars,
  storedEnvVarFacts,
  type StoredRepoSettings,
} from "./settingsView";

const KEY = "q5x1+1YJ8eYq2yD4l0pZ0m3b2s0H3m8t1H1b8c1b2aE=";
const REPO = "repo1" as Id<"repos">;
const REPO_DOC = { runtime: "docker" as const, defaultBranch: "main" };

async function fixture() {
  const key = await parseKey(KEY);
  const encrypt = (plaintext: string, aad: string) => encryptSecret(key, plaintext, aad);
  const decrypt = (box: { ciphertext: string; iv: string }, aad: string) => decryptSecret(key, box, aad);
  const envVars = await sealEnvVars(
    REPO,
    [
      { name: "DATABASE_URL", value: "postgres://u:hunter2@db/app" },
      { name: "API_KEY", value: "sk-live-123" },
    ],
    [],
    encrypt,
  );
  const settings: StoredRepoSettings = {
    repoId: REPO,
    teamId: "team1" as StoredRepoSettings["teamId"],
    version: 3,
    devCommand: ["npm", "run", "dev"],
    installCommand: ["npm", "ci"],
    baseImage: "node:22-slim",
    ports: [3000, 5173],
    limits: { memoryMb: 1024 },
    idleLimitMinutes: 30,
    envVars,
    updatedAt: 1_700_000_000_000,
    updatedBy: "https://issuer|alice",
  };
  return { key, encrypt, decrypt, settings };
}

describe("publicSettingsView", () => {
  it("shows every field and variables by name with set: true, never a value, ciphertext or author", async () => {
    const { settings } = await fixture();
    const view = publicSettingsView(REPO_DOC, settings);
    expect(view).toEqual({
      runtime: "docker",
      defaultBranch: "main",
      version: 3,
      devCommand: ["npm", "run", "dev"],
      installCommand: ["npm", "ci"],
      baseImage: "node:22-slim",
      ports: [3000, 5173],
      limits: { memoryMb: 1024 },
      idleLimitMinutes: 30,
      envVars: [
        { name: "DATABASE_URL", set: true },
        { name: "API_KEY", set: true },
      ],
      updatedAt: 1_700_000_000_000,
    });
    const json = JSON.stringify(view);
    for (const e of settings.envVars) {
      expect(json).not.toContain(e.ciphertext);
      expect(json).not.toContain(e.iv);
    }
    expect(json).not.toMatch(/hunter2|sk-live|alice|team1/);
  });

  it("before the first save: the repo's runtime and branch, version 0, no variables", () => {
    expect(publicSettingsView({ runtime: "firecracker", defaultBranch: "trunk" }, null)).toEqual({
      runtime: "firecracker",
      defaultBranch: "trunk",
      version: 0,
      envVars: [],
    });
  });
});

describe("agentSetupFields", () => {
  it("gives the agent's fields with every value opened", async () => {
    const { settings, decrypt } = await fixture();
    expect(await agentSetupFields(settings, decrypt)).toEqual({
      devCommand: ["npm", "run", "dev"],
      installCommand: ["npm", "ci"],
      image: "node:22-slim",
      ports: [3000, 5173],
      limits: { memoryMb: 1024 },
      envVars: { DATABASE_URL: "postgres://u:hunter2@db/app", API_KEY: "sk-live-123" },
    });
  });

  it("with no settings: no overrides and no variables", async () => {
    const { decrypt } = await fixture();
    expect(await agentSetupFields(null, decrypt)).toEqual({ envVars: {} });
  });

  it("refuses a value copied from another repo or variable", async () => {
    const { settings, decrypt } = await fixture();
    const [db, api] = settings.envVars;
    const swapped = { ...settings, envVars: [{ ...db, name: "API_KEY" }] };
    await expect(agentSetupFields(swapped, decrypt)).rejects.toThrow(
      /repoSettings:repo1:env:API_KEY could not be decrypted/,
    );
    const moved = { ...settings, repoId: "repo2" as Id<"repos">, envVars: [api] };
    await expect(agentSetupFields(moved, decrypt)).rejects.toThrow(/could not be decrypted/);
  });
});

describe("sealEnvVars", () => {
  it("seals new values for their place, keeps unlisted-value ones as stored, drops the rest", async () => {
    const { settings, encrypt, key } = await fixture();
    const [db] = settings.envVars;
    const next = await sealEnvVars(
      REPO,
      [{ name: "DATABASE_URL" }, { name: "NEW", value: "v" }],
      settings.envVars,
      encrypt,
    );
    expect(next.map((e) => e.name)).toEqual(["DATABASE_URL", "NEW"]);
    expect(next[0]).toBe(db);
    expect(await decryptSecret(key, next[1], envVarAad(REPO, "NEW"))).toBe("v");
    expect(JSON.stringify(next)).not.toContain('"v"');
  });

  it("replacing a value seals it anew, and a kept name that is not stored is an error", async () => {
    const { settings, encrypt, key } = await fixture();
    const [db] = settings.envVars;
    const [replaced] = await sealEnvVars(REPO, [{ name: "DATABASE_URL", value: "x" }], settings.envVars, encrypt);
    expect(replaced.ciphertext).not.toBe(db.ciphertext);
    expect(await decryptSecret(key, replaced, envVarAad(REPO, "DATABASE_URL"))).toBe("x");
    await expect(sealEnvVars(REPO, [{ name: "GHOST" }], settings.envVars, encrypt)).rejects.toThrow(
      "GHOST needs a value",
    );
  });

  it("storedEnvVarFacts gives names and plaintext sizes for the rules", async () => {
    const { settings } = await fixture();
    expect(storedEnvVarFacts(settings.envVars)).toEqual([
      { name: "DATABASE_URL", bytes: "postgres://u:hunter2@db/app".length },
      { name: "API_KEY", bytes: "sk-live-123".length },
    ]);
  });
});
