/**
 * The confirmation before a destructive command: `--yes` skips it; otherwise the question is
 * asked at the terminal (on stderr, so stdout stays the command's) and only `yes` goes on. With
 * no terminal to ask at (a pipe, cron, CI) and no `--yes`, the command refuses before it asks
 * the agent anything: a script must say `--yes` to mean it. It leaves out a "remember my answer".
 */
import { createInterface } from "node:readline/promises";
import { CliError } from "./failure.js";

export async function confirm(
  what: string,
  opts: { yes: boolean; confirmTimeoutMs: number },
  question: () => Promise<string>,
): Promise<void> {
  if (opts.yes) return;
  if (!process.stdin.isTTY) {
    throw new CliError(
      `Refusing to ${what} without a confirmation, and there is no terminal to ask at. Pass --yes to ${what} without asking.`,
    );
  }
  const text = await question();
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  let answer: string;
  try {
    answer = await rl.question(`${text}\nType yes to ${what}: `, {
      signal: AbortSignal.timeout(opts.confirmTimeoutMs),
    });
  } catch {
    throw new CliError(`No answer: nothing was done.`);
  } finally {
    rl.close();
  }
  if (answer.trim().toLowerCase() !== "yes") throw new CliError(`Not confirmed: nothing was done.`);
}
