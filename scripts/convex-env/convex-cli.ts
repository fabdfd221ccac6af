/**
 * The Convex CLI's `env` commands, called as an argv (never through a shell). Which CLI is
 * called comes from CONVEX_CLI (whitespace-separated argv, default `npx convex`), so tests put
 * a recorder in its place. Values are written through stdin (`convex env set NAME` reads the
 * value from a pipe), so a secret never appears in an argv that `ps` would show.
 */
import { spawn } from "node:child_process";

/** How long one CLI call may take: a local backend answers in a second, a cloud one in a few. */
const CALL_TIMEOUT_MS = 60_000;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class ConvexCliError extends Error {}

export type ConvexCli = {
  /** How the CLI is spelled to a person, e.g. `npx convex`. */
  display: string;
  listNames(): Promise<Set<string>>;
  set(name: string, value: string): Promise<void>;
};

export function convexCli(spec: string = process.env.CONVEX_CLI ?? "npx convex"): ConvexCli {
  const argv = spec.trim().split(/\s+/).filter(Boolean);
  if (argv.length === 0) throw new ConvexCliError("CONVEX_CLI is empty: unset it to use `npx convex`");
  const display = argv.join(" ");
  return {
    display,
    async listNames() {
      const { stdout } = await run(argv, ["env", "list", "--names-only"]);
      // Names go to stdout, one a line; notices ("No environment variables set") go to stderr.
      return new Set(
        stdout
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => ENV_NAME.test(l)),
      );
    },
    async set(name, value) {
      await run(argv, ["env", "set", name], value);
    },
  };
}

function run(argv: string[], args: string[], stdin = ""): Promise<{ stdout: string; stderr: string }> {
  const [command, ...prefix] = argv as [string, ...string[]];
  const what = [...argv, ...args].join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), CALL_TIMEOUT_MS);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new ConvexCliError(`could not run \`${what}\`: ${err.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const why = signal ? `was killed (${signal}) after ${CALL_TIMEOUT_MS / 1000} s` : `exited with ${code}`;
      reject(new ConvexCliError(`\`${what}\` ${why}: ${lastLines(stderr || stdout)}`));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin);
  });
}

function lastLines(text: string, n = 5): string {
  return text.trim().split("\n").slice(-n).join("\n") || "(no output)";
}
