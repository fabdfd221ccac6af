/**
 * Runs git on the host with argv arrays, never a shell. A GitHub token is handed to git through
 * GIT_CONFIG_* environment variables (an `http.extraHeader` for that one command): it is not in
 * the argv (visible in `ps`), not in any repository's config, and redacted from every output.
 *
 * Git sees nothing of the host's own configuration or credentials: no system or global config,
 * a HOME without files (so no ~/.netrc, which git's curl reads), no credential helper, no askpass
 * program, no terminal prompt. A setup fetches with the token it brought, or anonymously.
 * Classifying failures leaves the wording to the caller (setup-error.ts).
 */
import { execFile } from "node:child_process";
import { GIT_MAX_BUFFER_BYTES } from "../config.js";
import { formatBytes } from "../lib/bounded-reader.js";

export class GitError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "GitError";
  }
}

export type GitOptions = {
  cwd?: string;
  token?: string;
  timeoutMs: number;
  /** PEM bundle git's TLS trusts instead of the host's store (trust/ca-bundle.ts's bundle.pem). */
  caFile?: string;
};

/** Replaces every occurrence of the token (and its Basic-auth form) in text. */
export function redact(text: string, token: string | undefined): string {
  if (!token) return text;
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  return text.split(token).join("[REDACTED]").split(basic).join("[REDACTED]");
}

/**
 * HOME for git: a path that does not exist, so nothing under the agent's real HOME (.gitconfig,
 * .git-credentials, .netrc) is read. Git and curl treat its missing files as absent.
 */
export const GIT_HOME = "/nonexistent/artie-git-home";

/** Config every git command gets, whatever the host's files say. */
const FORCED_CONFIG: [string, string][] = [
  // An empty value resets the helper list: no stored or keychain credentials are asked.
  ["credential.helper", ""],
  ["core.askPass", ""],
];

export function gitEnv(token: string | undefined, caFile?: string): NodeJS.ProcessEnv {
  const config = [...FORCED_CONFIG];
  if (token) {
    const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
    config.push(["http.extraHeader", `Authorization: Basic ${basic}`]);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: GIT_HOME,
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_TERMINAL_PROMPT: "0",
    // Set and empty: git neither runs an askpass program nor falls back to SSH_ASKPASS.
    GIT_ASKPASS: "",
    SSH_ASKPASS: "",
    LANG: "C",
    // A repo's file names are pathspecs to ls-tree and diff: taken literally, a file named
    // `:(glob)*` or `*` is that file, never magic matching others (or failing every redeploy).
    GIT_LITERAL_PATHSPECS: "1",
    // With no host config read, this is the only way git learns of the operator's CAs.
    ...(caFile ? { GIT_SSL_CAINFO: caFile } : {}),
    GIT_CONFIG_COUNT: String(config.length),
  };
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/**
 * What git (and curl under it) print when a server refused the credential or wanted one it did
 * not get: 401/403, GitHub's "Repository not found" for a repo the token cannot see, and the
 * prompt git would have shown had prompts been allowed.
 */
const AUTH_FAILURE =
  /Authentication failed|could not read (Username|Password)|terminal prompts disabled|returned error: 40[13]|HTTP Basic: Access denied|Invalid username or password|Repository not found|Permission to .* denied/i;

export const isAuthFailure = (err: unknown): boolean => err instanceof GitError && AUTH_FAILURE.test(err.stderr);

export function git(args: string[], o: GitOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      args,
      { cwd: o.cwd, env: gitEnv(o.token, o.caFile), timeout: o.timeoutMs, maxBuffer: GIT_MAX_BUFFER_BYTES },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const clean = redact(stderr.trim() || err.message, o.token);
        const { killed, code } = err as { killed?: boolean; code?: unknown };
        // Node kills git when its output passes maxBuffer too: say so, not "timed out".
        if (code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER")
          return reject(new GitError(`git ${args[0]} printed more than ${formatBytes(GIT_MAX_BUFFER_BYTES)}`, clean));
        reject(new GitError(killed ? `git ${args[0]} timed out` : clean.split("\n").slice(-3).join(" "), clean));
      },
    );
  });
}
