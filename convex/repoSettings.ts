/**
 * A repo's settings: reading them (any member; names of variables and `set: true`, never a
 * value or a ciphertext) and saving them (team admins). A save is an action because sealing a
 * value needs fresh randomness for its IV, which a mutation's seeded RNG must not supply: the
 * action checks the input, seals new values with SETTINGS_ENCRYPTION_KEY, and hands only sealed
 * boxes (no plaintext) to an internal mutation, which checks membership and role again,
 * re-validates against what it is about to store, and writes version + 1 only if the stored
 * version is still the one the save started from (else `conflict`). The runtime and default
 * branch are kept on the repo record (repos.setRuntime keeps working) and saved from here too.
 * Left out: the rules themselves (settingsRules.ts), the view and sealing (settingsView.ts),
 * decrypting (only hostAgent.setupEnvironment does that).
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalMutation, internalQuery, type QueryCtx } from "./_generated/server";
import { requireMember, teamAction, teamQuery } from "./access";
import { encryptSecret, readSettingsKey } from "./crypto";
import { fail } from "./errors";
import { findMembership, roleAtLeast } from "./membership";
import { normalizeRepoSettings, repoSettingsInput, type RepoSettingsInput } from "./settingsRules";
import {
  publicSettingsView,
  repoSettingsView,
  sealEnvVars,
  sealedEnvVar,
  storedEnvVarFacts,
  type SealedEnvVar,
} from "./settingsView";
import { currentUser } from "./users";

const NO_REPO = "No such repo";

/** The settings document of a repo, or null before its first save. */
export async function findSettings(ctx: QueryCtx, repoId: Id<"repos">): Promise<Doc<"repoSettings"> | null> {
  return ctx.db
    .query("repoSettings")
    .withIndex("by_repoId", (q) => q.eq("repoId", repoId))
    .unique();
}

/** A repo's settings version: 0 until the first save. */
export async function settingsVersion(ctx: QueryCtx, repoId: Id<"repos">): Promise<number> {
  return (await findSettings(ctx, repoId))?.version ?? 0;
}

/** A repo's settings as a browser may see them; not_found for a repo of a team the caller is not in. */
export const get = teamQuery({
  args: { repoId: v.id("repos") },
  returns: repoSettingsView,
  handler: async (ctx, { repoId }) => {
    const repo = await ctx.db.get("repos", repoId);
    if (!repo) fail("not_found", NO_REPO);
    await requireMember(ctx, repo.teamId, "member", NO_REPO);
    return publicSettingsView(repo, await findSettings(ctx, repoId));
  },
});

/** The caller's admin access to a repo and its stored variables, for `save` (in the action). */
export const forSave = internalQuery({
  args: { repoId: v.id("repos") },
  returns: v.object({ version: v.number(), envVars: v.array(sealedEnvVar) }),
  handler: async (ctx, { repoId }) => {
    await requireAdmin(ctx, repoId);
    const stored = await findSettings(ctx, repoId);
    return { version: stored?.version ?? 0, envVars: stored?.envVars ?? [] };
  },
});

async function requireAdmin(ctx: QueryCtx, repoId: Id<"repos">): Promise<{ repo: Doc<"repos">; userKey: string }> {
  const user = await currentUser(ctx);
  if (!user) fail("unauthenticated", "Sign in first");
  const repo = await ctx.db.get("repos", repoId);
  const m = repo && (await findMembership(ctx, user.key, repo.teamId));
  if (!repo || !m) fail("not_found", NO_REPO);
  if (!roleAtLeast(m.role, "admin")) fail("forbidden", "Only a team admin can change a repo's settings");
  return { repo, userKey: user.key };
}

/** Fails with every problem of `input` (each naming its field), or answers what to store. */
function normalizeOrFail(input: RepoSettingsInput, facts: ReturnType<typeof storedEnvVarFacts>) {
  const result = normalizeRepoSettings(input, facts);
  if (!result.ok) {
    const summary = result.problems.map((p) => `${p.field}: ${p.message}`).join("; ");
    fail("invalid_argument", summary, { problems: result.problems });
  }
  return result.settings;
}

/**
 * Saves a repo's settings (team admins). `version`, when given, is the version the form was
 * loaded from: a save over someone else's newer one is refused (`conflict`) instead of undoing
 * it. Variables with a value are sealed anew; without one they keep the stored value; unlisted
 * ones are removed. Answers the new version.
 */
export const save = teamAction({
  args: { repoId: v.id("repos"), input: repoSettingsInput, version: v.optional(v.number()) },
  returns: v.object({ version: v.number() }),
  handler: async (ctx, { repoId, input, version }): Promise<{ version: number }> => {
    const stored: { version: number; envVars: SealedEnvVar[] } = await ctx.runQuery(internal.repoSettings.forSave, {
      repoId,
    });
    if (version !== undefined && version !== stored.version) fail("conflict", changedMeanwhile);
    normalizeOrFail(input, storedEnvVarFacts(stored.envVars));
    const key = input.envVars.some((e) => e.value !== undefined) ? await settingsKey() : null;
    const sealed = await sealEnvVars(repoId, input.envVars, stored.envVars, (plaintext, aad) =>
      encryptSecret(key!, plaintext, aad),
    );
    // Only names go on: the plaintext values stay in this action.
    const withoutValues = { ...input, envVars: input.envVars.map(({ name }) => ({ name })) };
    return await ctx.runMutation(internal.repoSettings.store, {
      repoId,
      startedFrom: stored.version,
      input: withoutValues,
      envVars: sealed,
    });
  },
});

/** The deployment's key, or `not_configured` saying how to set one. */
async function settingsKey(): Promise<CryptoKey> {
  try {
    return await readSettingsKey();
  } catch (err) {
    fail("not_configured", err instanceof Error ? err.message : String(err));
  }
}

const changedMeanwhile = "These settings were changed by someone else meanwhile: reload them and save again";

/** Writes a save prepared by `save`; see the module comment for what it checks again. */
export const store = internalMutation({
  args: { repoId: v.id("repos"), startedFrom: v.number(), input: repoSettingsInput, envVars: v.array(sealedEnvVar) },
  returns: v.object({ version: v.number() }),
  handler: async (ctx, { repoId, startedFrom, input, envVars }) => {
    const { repo, userKey } = await requireAdmin(ctx, repoId);
    const current = await findSettings(ctx, repoId);
    if ((current?.version ?? 0) !== startedFrom) fail("conflict", changedMeanwhile);
    if (input.envVars.some((e, i) => e.value !== undefined || envVars[i]?.name !== e.name)) {
      fail("invalid_argument", "The sealed variables do not match the input");
    }
    // Every variable is now "stored" with the size of its sealed value: the rules see the result.
    const settings = normalizeOrFail(input, storedEnvVarFacts(envVars));
    const version = startedFrom + 1;
    const { runtime, defaultBranch, ...fields } = settings;
    const doc = {
      repoId,
      teamId: repo.teamId,
      version,
      devCommand: fields.devCommand,
      installCommand: fields.installCommand,
      baseImage: fields.baseImage,
      ports: fields.ports,
      limits: fields.limits,
      idleLimitMinutes: fields.idleLimitMinutes,
      envVars,
      updatedAt: Date.now(),
      updatedBy: userKey,
    };
    if (current) await ctx.db.replace("repoSettings", current._id, doc);
    else await ctx.db.insert("repoSettings", doc);
    await ctx.db.patch("repos", repoId, { runtime, defaultBranch });
    return { version };
  },
});

/** A repo's stored settings (sealed values included) for the setup action; internal only. */
export const forSetup = internalQuery({
  args: { repoId: v.id("repos") },
  handler: async (ctx, { repoId }) => findSettings(ctx, repoId),
});
