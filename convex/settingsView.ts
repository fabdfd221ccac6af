/**
 * A repo's stored settings document and what leaves it, as pure functions:
 * - the public view a browser gets: every field, and variables by name with `set: true`, never a
 *   value or a ciphertext;
 * - the fields of the agent's setup request, with values opened by a decrypt function the
 *   calling action supplies (it holds the key; nothing here reads the environment);
 * - the sealed variable list a save stores: new values sealed, kept ones carried over as they are.
 *
 * Every value is sealed for its place, `repoSettings:<repoId>:env:<NAME>` (envVarAad), so a
 * ciphertext copied to another repo or variable does not open. Left out: checking the input
 * (settingsRules.ts), the cipher itself (crypto.ts), and who may read or save.
 */
import { v, type Infer } from "convex/values";
import type { SecretBox } from "./crypto";
import { RUNTIMES, type EnvVarInput, type Runtime, type StoredEnvVarFacts } from "./settingsRules";

const limits = v.object({
  memoryMb: v.optional(v.number()),
  cpus: v.optional(v.number()),
  pidsLimit: v.optional(v.number()),
});

export const sealedEnvVar = v.object({ name: v.string(), ciphertext: v.string(), iv: v.string() });
export type SealedEnvVar = Infer<typeof sealedEnvVar>;

/** What a setup runs with: stored as they are, and shown as they are. */
const runSettings = {
  devCommand: v.optional(v.array(v.string())),
  installCommand: v.optional(v.array(v.string())),
  baseImage: v.optional(v.string()),
  ports: v.optional(v.array(v.number())),
  limits: v.optional(limits),
  idleLimitMinutes: v.optional(v.number()),
};

/** The `repoSettings` table's fields (DESIGN.md), for `defineTable(repoSettingsFields)`. */
export const repoSettingsFields = {
  repoId: v.id("repos"),
  teamId: v.id("teams"),
  /** Raised by every save; environments record the version they were set up with. */
  version: v.number(),
  ...runSettings,
  envVars: v.array(sealedEnvVar),
  updatedAt: v.number(),
  updatedBy: v.string(),
};
export const storedRepoSettings = v.object(repoSettingsFields);
export type StoredRepoSettings = Infer<typeof storedRepoSettings>;

/** What a public query returns (its `returns` validator): no value, no ciphertext, no author. */
export const repoSettingsView = v.object({
  runtime: v.union(...RUNTIMES.map((r) => v.literal(r))),
  defaultBranch: v.string(),
  /** 0 while nothing was saved. */
  version: v.number(),
  ...runSettings,
  envVars: v.array(v.object({ name: v.string(), set: v.literal(true) })),
  updatedAt: v.optional(v.number()),
});
export type RepoSettingsView = Infer<typeof repoSettingsView>;

/** The place a variable's value is sealed for: moving its ciphertext elsewhere breaks it. */
export const envVarAad = (repoId: string, name: string) => `repoSettings:${repoId}:env:${name}`;

/** The public view of a repo's settings; `settings` is null before the first save. */
export function publicSettingsView(
  repo: { runtime: Runtime; defaultBranch: string },
  settings: StoredRepoSettings | null,
): RepoSettingsView {
  const view: RepoSettingsView = {
    runtime: repo.runtime,
    defaultBranch: repo.defaultBranch,
    version: settings?.version ?? 0,
    envVars: (settings?.envVars ?? []).map(({ name }) => ({ name, set: true as const })),
  };
  if (!settings) return view;
  // Copied field by field (not spread), so a field added to the document later is not public
  // until it is added here.
  if (settings.devCommand) view.devCommand = settings.devCommand;
  if (settings.installCommand) view.installCommand = settings.installCommand;
  if (settings.baseImage !== undefined) view.baseImage = settings.baseImage;
  if (settings.ports) view.ports = settings.ports;
  if (settings.limits) view.limits = settings.limits;
  if (settings.idleLimitMinutes !== undefined) view.idleLimitMinutes = settings.idleLimitMinutes;
  view.updatedAt = settings.updatedAt;
  return view;
}

/** The settings' part of the agent's create and setup requests; absent fields take its defaults. */
export type AgentSetupFields = {
  devCommand?: string[];
  installCommand?: string[];
  image?: string;
  ports?: number[];
  limits?: { memoryMb?: number; cpus?: number; pidsLimit?: number };
  envVars: Record<string, string>;
};

export type Decrypt = (box: SecretBox, aad: string) => Promise<string>;
export type Encrypt = (plaintext: string, aad: string) => Promise<SecretBox>;

/**
 * The agent's setup fields, every value opened for its own place. A value that does not open
 * fails the whole setup (decrypt's error names the variable, never the value): starting a dev
 * server without a variable it was configured with would fail later and less clearly.
 */
export async function agentSetupFields(
  settings: StoredRepoSettings | null,
  decrypt: Decrypt,
): Promise<AgentSetupFields> {
  if (!settings) return { envVars: {} };
  const entries = await Promise.all(
    settings.envVars.map(
      async (e) =>
        [e.name, await decrypt({ ciphertext: e.ciphertext, iv: e.iv }, envVarAad(settings.repoId, e.name))] as const,
    ),
  );
  return {
    devCommand: settings.devCommand,
    installCommand: settings.installCommand,
    image: settings.baseImage,
    ports: settings.ports,
    limits: settings.limits,
    envVars: Object.fromEntries(entries),
  };
}

/** GCM adds a 16-byte tag to the plaintext. */
const GCM_TAG_BYTES = 16;

/** What settingsRules needs to know of the stored values: names and plaintext sizes. */
export function storedEnvVarFacts(stored: SealedEnvVar[]): StoredEnvVarFacts {
  return stored.map((e) => ({ name: e.name, bytes: Math.max(0, atob(e.ciphertext).length - GCM_TAG_BYTES) }));
}

/**
 * The variable list a save stores, in the order given: a variable with a value is sealed anew
 * (a fresh IV), one without keeps its stored box, one not listed is gone. Run on input that
 * passed settingsRules; a kept name that is not stored is an error all the same.
 */
export async function sealEnvVars(
  repoId: string,
  input: EnvVarInput[],
  stored: SealedEnvVar[],
  encrypt: Encrypt,
): Promise<SealedEnvVar[]> {
  const byName = new Map(stored.map((e) => [e.name, e]));
  return await Promise.all(
    input.map(async ({ name, value }) => {
      if (value !== undefined) return { name, ...(await encrypt(value, envVarAad(repoId, name))) };
      const kept = byName.get(name);
      if (!kept) throw new Error(`${name} needs a value`);
      return kept;
    }),
  );
}
