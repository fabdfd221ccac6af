/**
 * The control plane's calls to GitHub as the GitHub App: find a repo's installation, mint an
 * installation token for exactly one repo with `contents: read`, exchange the setup redirect's
 * `code` for a user-to-server token, ask GitHub whether that user can access an installation
 * and which of its repositories, and revoke that user token. Configuration comes from the deployment's environment (see GITHUB_APP_ENV);
 * missing settings answer a "not configured" error naming them.
 *
 * Every call times out, follows no redirect (GitHub's API never needs one; one would send the
 * credential elsewhere), reads a bounded body, and fails with a GitHubAppError whose message a
 * person can act on and which never contains a token, JWT, client secret or code. Tokens are
 * returned to the caller in memory only; this module stores nothing.
 * Leaves out: Convex functions (callers wrap these), retries, rate-limit handling, webhooks.
 */
import { z } from "zod";
import { env } from "./_generated/server";
import { importAppKey, PrivateKeyError, signAppJwt } from "./githubAppJwt";
import { readJsonBounded } from "@artie/host-agent/response-body";
import {
  GITHUB_REQUEST_TIMEOUT_MS,
  GITHUB_RESPONSE_MAX_BYTES,
  GITHUB_INSTALLATION_REPOS_PER_PAGE,
  GITHUB_USER_INSTALLATIONS_MAX_PAGES,
  GITHUB_USER_INSTALLATIONS_PER_PAGE,
  LINKED_REPOS_MAX,
} from "./limits";

export type GitHubAppErrorCode = "not_configured" | "unreachable" | "refused" | "bad_response";

/** A GitHub call that did not work; `message` is safe to show and to log. */
export class GitHubAppError extends Error {
  constructor(
    readonly code: GitHubAppErrorCode,
    message: string,
  ) {
    super(scrub(message));
    this.name = "GitHubAppError";
  }
}

/** The deployment variables this module reads, and what each one is for. */
export const GITHUB_APP_ENV = {
  GITHUB_APP_ID: "the App's id (its settings page, 'App ID')",
  GITHUB_APP_PRIVATE_KEY: "a private key of the App (.pem, PKCS#1 as GitHub issues it, or PKCS#8)",
  GITHUB_APP_CLIENT_ID: "the App's client id",
  GITHUB_APP_CLIENT_SECRET: "a client secret of the App",
  GITHUB_APP_SLUG: "the App's URL name (github.com/apps/<slug>)",
} as const;
type Setting = keyof typeof GITHUB_APP_ENV;

const DEFAULT_API_URL = "https://api.github.com";
const DEFAULT_WEB_URL = "https://github.com";
const USER_AGENT = "artie-docker-host";

/** Which settings are missing; an empty list means the App is fully configured. */
export function missingGitHubAppSettings(): Setting[] {
  return (Object.keys(GITHUB_APP_ENV) as Setting[]).filter((name) => !env[name]?.trim());
}

/** The named settings, or a not_configured error listing the missing ones and what they are. */
function settings<S extends Setting>(names: S[]): Record<S, string> {
  const missing = names.filter((name) => !env[name]?.trim());
  if (missing.length > 0) {
    const what = missing.map((name) => `${name} (${GITHUB_APP_ENV[name]})`).join(", ");
    throw new GitHubAppError(
      "not_configured",
      `The GitHub App is not configured: set ${what} in the Convex deployment's environment (npx convex env set NAME value)`,
    );
  }
  return Object.fromEntries(names.map((name) => [name, env[name]!.trim()])) as Record<S, string>;
}

const apiUrl = () => (env.GITHUB_API_URL?.trim() || DEFAULT_API_URL).replace(/\/+$/, "");
const webUrl = () => (env.GITHUB_URL?.trim() || DEFAULT_WEB_URL).replace(/\/+$/, "");

/** The App JWT, signed now. */
async function appJwt(): Promise<string> {
  const { GITHUB_APP_ID: appId, GITHUB_APP_PRIVATE_KEY: pem } = settings(["GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY"]);
  if (!/^\d+$/.test(appId)) {
    throw new GitHubAppError(
      "not_configured",
      "GITHUB_APP_ID must be the App's numeric id (its settings page, 'App ID')",
    );
  }
  try {
    return await signAppJwt(await importAppKey(pem), appId);
  } catch (err) {
    if (err instanceof PrivateKeyError) throw new GitHubAppError("not_configured", err.message);
    throw err;
  }
}

// GitHub's rules for account and repository names; anything else is refused before a request.
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

function checkRepo(owner: string, repo: string) {
  if (!OWNER.test(owner) || !REPO.test(repo) || repo === "." || repo === "..") {
    throw new GitHubAppError("refused", `"${owner}/${repo}" is not a GitHub repository name`);
  }
}

type Answer = { status: number; json: unknown };

/** One request to GitHub with the standard headers; network failures become `unreachable`. */
async function request(
  url: string,
  init: { method: string; auth?: string; body?: unknown; accept?: string },
): Promise<Answer> {
  const headers: Record<string, string> = {
    accept: init.accept ?? "application/vnd.github+json",
    "x-github-api-version": "2022-11-28",
    "user-agent": USER_AGENT,
  };
  if (init.auth) headers.authorization = init.auth;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const where = new URL(url).origin;
  try {
    const res = await fetch(url, {
      method: init.method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: "error",
      signal: AbortSignal.timeout(GITHUB_REQUEST_TIMEOUT_MS),
    });
    return { status: res.status, json: await readJsonBounded(res, GITHUB_RESPONSE_MAX_BYTES) };
  } catch (err) {
    const why =
      err instanceof Error && err.name === "TimeoutError" ? "it did not answer in time" : "it is not reachable";
    throw new GitHubAppError("unreachable", `GitHub at ${where} could not be asked: ${why}`);
  }
}

const GitHubMessage = z.object({ message: z.string() });

/** GitHub's own `message` for a failed call, cut short, for an error a person reads. */
function githubSaid(answer: Answer): string {
  const parsed = GitHubMessage.safeParse(answer.json);
  return parsed.success ? `${answer.status} ${parsed.data.message.slice(0, 200)}` : `${answer.status}`;
}

function parse<S extends z.ZodType>(schema: S, answer: Answer, what: string): z.output<S> {
  const parsed = schema.safeParse(answer.json);
  if (!parsed.success) throw new GitHubAppError("bad_response", `GitHub's answer to ${what} was not understood`);
  return parsed.data;
}

const Installation = z.object({ id: z.number().int().positive(), account: z.object({ login: z.string() }).nullable() });

export type RepoInstallation = { installationId: number; accountLogin: string | null };

/** The App's installation that covers owner/repo, or null when the App is not installed on it. */
export async function findRepoInstallation(owner: string, repo: string): Promise<RepoInstallation | null> {
  checkRepo(owner, repo);
  const jwt = await appJwt();
  const path = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/installation`;
  const answer = await request(`${apiUrl()}${path}`, { method: "GET", auth: `Bearer ${jwt}` });
  if (answer.status === 404) return null;
  if (answer.status === 401) throw appRefused(answer);
  if (answer.status !== 200) {
    throw new GitHubAppError(
      "refused",
      `GitHub refused to look up the App's installation on ${owner}/${repo} (${githubSaid(answer)})`,
    );
  }
  const found = parse(Installation, answer, "the installation lookup");
  return { installationId: found.id, accountLogin: found.account?.login ?? null };
}

const AccessToken = z.object({ token: z.string().min(1), expires_at: z.string() });

export type RepoToken = { token: string; expiresAt: number };

/**
 * An installation token that can read exactly one repository's contents, for one setup. The
 * caller passes it on and drops it: it is never stored.
 */
export async function mintRepoToken(installationId: number, repoName: string): Promise<RepoToken> {
  if (!Number.isSafeInteger(installationId) || installationId <= 0) {
    throw new GitHubAppError("refused", `${installationId} is not a GitHub App installation id`);
  }
  if (!REPO.test(repoName)) throw new GitHubAppError("refused", `"${repoName}" is not a GitHub repository name`);
  const jwt = await appJwt();
  const answer = await request(`${apiUrl()}/app/installations/${installationId}/access_tokens`, {
    method: "POST",
    auth: `Bearer ${jwt}`,
    body: { repositories: [repoName], permissions: { contents: "read" } },
  });
  if (answer.status === 401) throw appRefused(answer);
  if (answer.status !== 201) {
    throw new GitHubAppError(
      "refused",
      `GitHub refused a read token for ${repoName} from installation ${installationId} (${githubSaid(answer)}); check that the App is installed on the repository with Contents: read`,
    );
  }
  const minted = parse(AccessToken, answer, "the token request");
  const expiresAt = Date.parse(minted.expires_at);
  if (Number.isNaN(expiresAt)) throw new GitHubAppError("bad_response", "GitHub's token had no readable expiry");
  return { token: minted.token, expiresAt };
}

function appRefused(answer: Answer) {
  return new GitHubAppError(
    "refused",
    `GitHub refused the App's credentials (${githubSaid(answer)}): check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY, and that this machine's clock is right`,
  );
}

const OAuthAnswer = z.union([
  z.object({ access_token: z.string().min(1) }),
  z.object({ error: z.string(), error_description: z.string().optional() }),
]);

/**
 * Exchanges the `code` from the App's setup redirect for a user-to-server token (GitHub's web
 * flow). The token is for one check (userCanAccessInstallation) and is then dropped.
 */
export async function exchangeUserCode(code: string): Promise<{ userToken: string }> {
  const { GITHUB_APP_CLIENT_ID: clientId, GITHUB_APP_CLIENT_SECRET: clientSecret } = settings([
    "GITHUB_APP_CLIENT_ID",
    "GITHUB_APP_CLIENT_SECRET",
  ]);
  if (!code || code.length > 256)
    throw new GitHubAppError("refused", "The authorization code from GitHub is missing or malformed");
  const answer = await request(`${webUrl()}/login/oauth/access_token`, {
    method: "POST",
    // Without a JSON Accept header GitHub answers this endpoint form-encoded.
    accept: "application/json",
    body: { client_id: clientId, client_secret: clientSecret, code },
  });
  // GitHub answers a bad code with 200 and an `error` field, so both are checked.
  if (answer.status !== 200) {
    throw new GitHubAppError("refused", `GitHub refused the authorization code exchange (${githubSaid(answer)})`);
  }
  const parsed = parse(OAuthAnswer, answer, "the authorization code exchange");
  if ("error" in parsed) {
    const hint =
      parsed.error === "incorrect_client_credentials"
        ? "check GITHUB_APP_CLIENT_ID and GITHUB_APP_CLIENT_SECRET"
        : "start the installation again from the settings page (codes are single use and expire after 10 minutes)";
    throw new GitHubAppError(
      "refused",
      `GitHub refused the authorization code (${parsed.error.slice(0, 64)}): ${hint}`,
    );
  }
  return { userToken: parsed.access_token };
}

const UserInstallations = z.object({
  total_count: z.number().int().nonnegative(),
  installations: z.array(z.object({ id: z.number().int().positive(), account: z.object({ login: z.string() }) })),
});

/**
 * GitHub's word on whether the user behind `userToken` can access the installation: its
 * account login when GET /user/installations lists it, else null. Pages are bounded.
 */
export async function userCanAccessInstallation(userToken: string, installationId: number): Promise<string | null> {
  const perPage = GITHUB_USER_INSTALLATIONS_PER_PAGE;
  for (let page = 1; page <= GITHUB_USER_INSTALLATIONS_MAX_PAGES; page++) {
    const answer = await request(`${apiUrl()}/user/installations?per_page=${perPage}&page=${page}`, {
      method: "GET",
      auth: `Bearer ${userToken}`,
    });
    if (answer.status !== 200) {
      throw new GitHubAppError("refused", `GitHub refused to list the user's installations (${githubSaid(answer)})`);
    }
    const { total_count, installations } = parse(UserInstallations, answer, "the installations list");
    const found = installations.find((i) => i.id === installationId);
    if (found) return found.account.login;
    if (installations.length < perPage || page * perPage >= total_count) return null;
  }
  return null;
}

const UserInstallationRepos = z.object({
  total_count: z.number().int().nonnegative(),
  repositories: z.array(z.object({ full_name: z.string().min(3).max(200) })),
});

/**
 * The installation's repositories the user behind `userToken` can access (GitHub's
 * GET /user/installations/{id}/repositories), as lower-case `owner/name`, at most
 * LINKED_REPOS_MAX of them. An installation covers repos the user may not be able to read
 * (/user/installations lists it when they can access any one), so this list, not the
 * installation, is what a team gets when the user links it.
 */
export async function userInstallationRepos(userToken: string, installationId: number): Promise<string[]> {
  const perPage = GITHUB_INSTALLATION_REPOS_PER_PAGE;
  const names: string[] = [];
  for (let page = 1; page * perPage <= LINKED_REPOS_MAX; page++) {
    const answer = await request(
      `${apiUrl()}/user/installations/${installationId}/repositories?per_page=${perPage}&page=${page}`,
      { method: "GET", auth: `Bearer ${userToken}` },
    );
    if (answer.status !== 200) {
      throw new GitHubAppError(
        "refused",
        `GitHub refused to list the repositories of installation ${installationId} you can access (${githubSaid(answer)})`,
      );
    }
    const { total_count, repositories } = parse(UserInstallationRepos, answer, "the installation's repository list");
    names.push(...repositories.map((r) => r.full_name.toLowerCase()));
    if (repositories.length < perPage || page * perPage >= total_count) break;
  }
  return [...new Set(names)].slice(0, LINKED_REPOS_MAX);
}

/**
 * Revokes a user-to-server token (GitHub's "Delete an app token", Basic client id and secret).
 * True when GitHub confirmed; false otherwise, never throwing: the caller has its answer already.
 */
export async function revokeUserToken(userToken: string): Promise<boolean> {
  const { GITHUB_APP_CLIENT_ID: clientId, GITHUB_APP_CLIENT_SECRET: clientSecret } = settings([
    "GITHUB_APP_CLIENT_ID",
    "GITHUB_APP_CLIENT_SECRET",
  ]);
  try {
    const answer = await request(`${apiUrl()}/applications/${encodeURIComponent(clientId)}/token`, {
      method: "DELETE",
      auth: `Basic ${btoa(`${clientId}:${clientSecret}`)}`,
      body: { access_token: userToken },
    });
    return answer.status === 204;
  } catch {
    return false;
  }
}

/** Where a person installs the App; GitHub's setup redirect brings `state` back. */
export function installUrl(state: string): string {
  const { GITHUB_APP_SLUG: slug } = settings(["GITHUB_APP_SLUG"]);
  return `${webUrl()}/apps/${encodeURIComponent(slug)}/installations/new?state=${encodeURIComponent(state)}`;
}

// Defence in depth for messages: anything shaped like a GitHub token or a JWT is masked, in case
// GitHub (or a proxy in front of it) ever echoes one back.
const SECRET_SHAPES = [/\bgh[opsuvr]_[A-Za-z0-9_]{10,}/g, /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g];
function scrub(message: string): string {
  return SECRET_SHAPES.reduce((m, shape) => m.replace(shape, "[redacted]"), message);
}
