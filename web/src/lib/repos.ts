/** How a repository is named on screen: `owner/name`, as on GitHub. */
import type { Doc } from "@convex/_generated/dataModel";

export const repoFullName = (repo: Pick<Doc<"repos">, "owner" | "name">) => `${repo.owner}/${repo.name}`;
