/**
 * The Convex CLI's `env` commands, called as an argv (never through a shell). Which CLI is
 * called comes from CONVEX_CLI (whitespace-separated argv, default `npx convex`), so tests put
 * a recorder in its place. Values go in one `convex env set` call as .env lines on stdin, so a
 * secret never appears in an argv that `ps` would show, and a local deployment's backend (which
 * the CLI starts for each command while `convex dev` is not running) starts once, not per value.
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
  /** Sets every pair in one call; the CLI refuses the whole call if any is set to another value. */
  setMany(values: Array<{ name: string; value: string }>): Promise<void>;
};

/** A .env line the CLI's dotenv parser reads back verbatim: single quotes take everything literally. */
export function envLine(name: string, value: string): string {
  if (/['\n\r]/.test(value)) throw new ConvexCliError(`${name}'s value holds a quote or a line break`);
  return `${name}='${value}'`;
}

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
    async setMany(values) {
      if (values.length === 0) return;
      await run(argv, ["env", "set"], values.map((v) => envLine(v.name, v.value)).join("\n") + "\n");
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
    let timedOut = false;
    // SIGINT first: the Convex CLI stops a local backend it started only on SIGINT.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGINT");
      setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
    }, CALL_TIMEOUT_MS);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new ConvexCliError(`could not run \`${what}\`: ${err.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const why = timedOut
        ? `did not finish within ${CALL_TIMEOUT_MS / 1000} s`
        : signal
          ? `was killed (${signal})`
          : `exited with ${code}`;
      reject(new ConvexCliError(`\`${what}\` ${why}: ${lastLines(stderr || stdout)}`));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin);
  });
}

function lastLines(text: string, n = 5): string {
  return text.trim().split("\n").slice(-n).join("\n") || "(no output)";
}
