/** How a repository is named on screen (`owner/name`, as on GitHub) and in the address bar. */
import type { Doc } from "@convex/_generated/dataModel";

export const repoFullName = (repo: Pick<Doc<"repos">, "owner" | "name">) => `${repo.owner}/${repo.name}`;

export const repoSettingsPath = (repo: Pick<Doc<"repos">, "owner" | "name">) =>
  `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}/settings`;

/** The settings version a repos.list item carries (0 before the first save). */
export const currentSettingsVersion = (repo: Doc<"repos"> & { settingsVersion?: number }): number =>
  repo.settingsVersion ?? 0;
