/**
 * `artie-host`, the troubleshooting CLI (bin/artie-host.js; `npm run host -- <command>` at the
 * repo root): the agent's API from a terminal on the host, with the secret from the environment
 * or `.env` (settings.ts). Commands: status, logs, exec, restart, destroy, prune, cleanup,
 * health. This module parses argv (commander), builds the one agent client (api/client.ts) with
 * the command's deadline, runs the command (commands.ts) and turns a failure into a short message
 * that says what to do next (failure.ts). Exit codes: 0 done, 1 failed or refused, an exec's own.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { AgentClient } from "../api/client.js";
import {
  CLI_CONFIRM_TIMEOUT_MS,
  CLI_EXEC_TIMEOUT_MARGIN_MS,
  CLI_HEALTH_TIMEOUT_MS,
  CLI_LOG_IDLE_TIMEOUT_MS,
  CLI_PRUNE_TIMEOUT_MS,
  CLI_REQUEST_TIMEOUT_MS,
  CLI_RESPONSE_MAX_BYTES,
} from "../config.js";
import * as commands from "./commands.js";
import { CliError, explain } from "./failure.js";
import { readSettings, type CliSettings } from "./settings.js";

const output: commands.Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** The exec default, as the agent's own (contract.ts ExecRequest). */
const EXEC_DEFAULT_TIMEOUT_MS = 60_000;

const integer = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new InvalidArgumentError(`must be a whole number ${min}-${max}`);
  return n;
};

type Run = (client: (timeoutMs: number, o?: { secret: boolean }) => AgentClient) => Promise<number>;

/** Reads the settings, runs `fn` with a client factory, prints any failure; sets the exit code. */
function action(program: Command, fn: Run): () => Promise<void> {
  return async () => {
    let settings: CliSettings | null = null;
    try {
      const s = (settings = readSettings(program.opts<{ envFile?: string }>().envFile));
      const client = (timeoutMs: number, o = { secret: true }) => {
        if (o.secret && !s.secret) {
          throw new CliError(
            "No API_SECRET: set it in the environment, or run this where the agent's .env is (or pass --env-file).",
          );
        }
        return new AgentClient({
          url: s.url,
          secret: o.secret ? s.secret : undefined,
          timeoutMs,
          maxResponseBytes: CLI_RESPONSE_MAX_BYTES,
        });
      };
      process.exitCode = await fn(client);
    } catch (err) {
      for (const line of explain(err, settings)) output.err(`${line}\n`);
      process.exitCode = err instanceof CliError ? err.exitCode : 1;
    }
  };
}

function buildProgram(): Command {
  const program = new Command("artie-host")
    .description("Troubleshoot this host's agent: its containers, their logs, and its maintenance.")
    .option("--env-file <path>", "read AGENT_URL and API_SECRET from this file (default: ./.env when present)")
    .showHelpAfterError("(artie-host --help lists the commands)")
    .enablePositionalOptions();

  const confirmOpts = (yes: boolean) => ({ yes, confirmTimeoutMs: CLI_CONFIRM_TIMEOUT_MS });

  program
    .command("status")
    .description("every managed container: state, health, uptime, ports, image, repo and branch")
    .option("--json", "print the agent's answer as JSON")
    .action(function (this: Command) {
      const o = this.opts<{ json?: boolean }>();
      return action(program, (c) => commands.status(c(CLI_REQUEST_TIMEOUT_MS), output, { json: !!o.json }))();
    });

  program
    .command("logs <id>")
    .description("a container's log: the last lines, then (with --follow) new ones until it stops or Ctrl-C")
    .addOption(new Option("--tail <n>", "lines of history").argParser(integer(0, 10_000)).default(100))
    .option("-f, --follow", "keep printing new lines")
    .action(function (this: Command, id: string) {
      const o = this.opts<{ tail: number; follow?: boolean }>();
      const stop = new AbortController();
      process.once("SIGINT", () => stop.abort());
      return action(program, (c) =>
        commands.logs(c(CLI_REQUEST_TIMEOUT_MS), output, id, {
          tail: o.tail,
          follow: !!o.follow,
          idleTimeoutMs: CLI_LOG_IDLE_TIMEOUT_MS,
          signal: stop.signal,
        }),
      )();
    });

  program
    .command("exec <id> <argv...>")
    .description("run a command in a container (argv after --, no shell); exits with its exit code")
    .addOption(
      new Option("--timeout <ms>", "kill it after this long")
        .argParser(integer(1, 3_600_000))
        .default(EXEC_DEFAULT_TIMEOUT_MS),
    )
    .passThroughOptions()
    .action(function (this: Command, id: string, operands: string[]) {
      const { timeout } = this.opts<{ timeout: number }>();
      // Passed through as is after the id (so `exec <id> ls -la` works too), `--` included.
      const argv = operands[0] === "--" ? operands.slice(1) : operands;
      if (argv.length === 0)
        return action(program, () => Promise.reject(new CliError("exec needs a command after --.")))();
      return action(program, (c) =>
        commands.exec(c(timeout + CLI_EXEC_TIMEOUT_MARGIN_MS), output, id, argv, timeout),
      )();
    });

  program
    .command("restart <id>")
    .description("restart a container (asks first)")
    .option("-y, --yes", "do not ask")
    .action(function (this: Command, id: string) {
      const { yes } = this.opts<{ yes?: boolean }>();
      return action(program, (c) => commands.restart(c(CLI_REQUEST_TIMEOUT_MS), output, id, confirmOpts(!!yes)))();
    });

  program
    .command("destroy <id>")
    .description("remove a container and its workspace for good (asks first)")
    .option("-y, --yes", "do not ask")
    .action(function (this: Command, id: string) {
      const { yes } = this.opts<{ yes?: boolean }>();
      return action(program, (c) => commands.destroy(c(CLI_REQUEST_TIMEOUT_MS), output, id, confirmOpts(!!yes)))();
    });

  const pruneCommand = (name: string, scope: "all" | "orphans", description: string) =>
    program
      .command(name)
      .description(description)
      .option("--dry-run", "say what would be removed, remove nothing")
      .option("--json", "print the agent's report as JSON")
      .action(function (this: Command) {
        const o = this.opts<{ dryRun?: boolean; json?: boolean }>();
        return action(program, (c) =>
          commands.prune(c(CLI_PRUNE_TIMEOUT_MS), output, { dryRun: !!o.dryRun, json: !!o.json, scope }),
        )();
      });
  pruneCommand(
    "prune",
    "all",
    "remove what no live container uses: old main images, dangling images, idle volumes and repo caches, orphans",
  );
  pruneCommand("cleanup", "orphans", "remove only exited managed containers no record knows (orphans)");

  program
    .command("health")
    .description("the agent's /health in short: Docker, disk, memory, images, maintenance, problems")
    .option("--json", "print the agent's answer as JSON")
    .action(function (this: Command) {
      const o = this.opts<{ json?: boolean }>();
      return action(program, (c) =>
        commands.health(c(CLI_HEALTH_TIMEOUT_MS, { secret: false }), output, { json: !!o.json }),
      )();
    });

  return program;
}

await buildProgram().parseAsync(process.argv);
