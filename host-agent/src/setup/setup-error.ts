/**
 * A setup failure a person can act on; the runner reports its message as it is. The messages for
 * git's refusals live here, so every path says the same thing. None ever carries a token.
 */
export class SetupError extends Error {}

/** How access to a private repository is granted: the only credential the agent ever gets. */
const GRANT_ACCESS = (repo: string) => `install the GitHub App on ${repo} and link it to your team`;

/** A setup without a token, of a repository that cannot be read anonymously. */
export const privateRepoError = (repo: string) =>
  new SetupError(
    `${repo} is private (or does not exist): it cannot be read without a token. To use it, ${GRANT_ACCESS(repo)}, then set up again.`,
  );

/** A setup whose token the git server refused (expired, revoked, or not covering this repo). */
export const tokenRefusedError = (repo: string) =>
  new SetupError(
    `The git server refused the token for ${repo}: it has expired or does not cover this repository. To grant access, ${GRANT_ACCESS(repo)}, then set up again.`,
  );
