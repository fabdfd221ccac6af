/**
 * References to the Convex functions the dashboard uses that are not in this tree yet (repo
 * settings, repos.byName, the GitHub App's install state and linking), by name and with the
 * shapes they are being written with. The one place to switch to `api.*` once they land: every
 * page imports them from here, so the switch is this file and nothing else.
 * Left out: functions that exist already (use `api` for those).
 */
import type { Doc, Id } from "@convex/_generated/dataModel";
import type { RepoSettingsInput } from "@convex/settingsRules";
import type { RepoSettingsView } from "@convex/settingsView";
import { makeFunctionReference } from "convex/server";
import type { InstallState } from "../modules/repos/InstallStateNote";

/** github.installState's answer: the note's state plus the account the App is installed on. */
export type InstallStateAnswer = InstallState & { accountLogin?: string };

export type Installation = { installationId: number; accountLogin: string; linkedAt: number };

export const pendingApi = {
  repoSettings: {
    get: makeFunctionReference<"query", { repoId: Id<"repos"> }, RepoSettingsView | null>("repoSettings:get"),
    save: makeFunctionReference<"action", { repoId: Id<"repos">; input: RepoSettingsInput }, { version: number }>(
      "repoSettings:save",
    ),
  },
  repos: {
    byName: makeFunctionReference<"query", { owner: string; name: string }, Doc<"repos"> | null>("repos:byName"),
  },
  github: {
    installState: makeFunctionReference<"action", { repoId: Id<"repos"> }, InstallStateAnswer>("github:installState"),
    completeInstall: makeFunctionReference<
      "action",
      { installationId: number; code: string; state: string },
      { accountLogin: string }
    >("github:completeInstall"),
    installations: makeFunctionReference<"query", Record<string, never>, Installation[]>("github:installations"),
    unlink: makeFunctionReference<"mutation", { installationId: number }, null>("github:unlink"),
  },
};

/**
 * The settings version a repos.list item carries (0 before the first save). Typed so it reads
 * the field once repos.list returns it, and compiles before.
 */
export const currentSettingsVersion = (repo: Doc<"repos"> & { settingsVersion?: number }): number =>
  repo.settingsVersion ?? 0;
