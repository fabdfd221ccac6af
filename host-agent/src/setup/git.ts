/**
 * Runs git on the host with argv arrays, never a shell. A GitHub token is handed to git through
 * GIT_CONFIG_* environment variables (an `http.extraHeader` for that one command): it is not in
 * the argv (visible in `ps`), not in any repository's config, and redacted from every output.
 */
import { execFile } from "node:child_process";

export class GitError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "GitError";
  }
}

export type GitOptions = { cwd?: string; token?: string; timeoutMs: number };

/** Replaces every occurrence of the token (and its Basic-auth form) in text. */
export function redact(text: string, token: string | undefined): string {
  if (!token) return text;
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  return text.split(token).join("[REDACTED]").split(basic).join("[REDACTED]");
}

function gitEnv(token: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    LANG: "C",
  };
  if (!token) return env;
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  return {
    ...env,
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "http.extraHeader",
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

export function git(args: string[], o: GitOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      args,
      { cwd: o.cwd, env: gitEnv(o.token), timeout: o.timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const clean = redact(stderr.trim() || err.message, o.token);
        const timedOut = (err as { killed?: boolean }).killed;
        reject(new GitError(timedOut ? `git ${args[0]} timed out` : clean.split("\n").slice(-3).join(" "), clean));
      },
    );
  });
}
