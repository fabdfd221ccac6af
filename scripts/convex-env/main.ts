/**
 * `npm run convex:env -- [--dry-run] [--agent-url URL] [--site-url URL]`: gives the configured
 * Convex deployment (local, self-hosted or cloud: whatever `npx convex` is pointed at) the
 * environment this system needs, setting only what is missing. `npm run dev` runs it after it
 * has started a deployment; run it alone against any other. `--dry-run` prints the
 * `npx convex env set` calls it would make, secrets masked, and changes nothing.
 */
import { parseArgs } from "node:util";
import { ConvexCliError, convexCli } from "./convex-cli.js";
import { deploymentIsLocal, readEnvFile } from "./deployment.js";
import { displayLine, planVariables } from "./variables.js";

const USAGE = `usage: npm run convex:env -- [--dry-run] [--agent-url URL] [--site-url URL]
  --agent-url  the agent as the deployment reaches it (or DOCKER_HOST_URL in the environment or
               .env.local; default for a local deployment: http://127.0.0.1:<the agent's PORT>)
  --site-url   the dashboard's URL, for Convex Auth (default http://127.0.0.1:5173)
  --dry-run    print the calls it would make, secrets masked; change nothing
The CLI called is CONVEX_CLI (default "npx convex").`;

/** A URL given on the command line, checked: the CLI's .env syntax cannot carry quotes. */
function checkedUrl(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${flag} ${value} is not a URL`);
  }
  if (!/^https?:$/.test(url.protocol) || /['"\s]/.test(value)) throw new Error(`${flag} must be an http(s) URL`);
  return value.replace(/\/$/, "");
}

/** The agent's settings the way it reads them: its environment first, then `.env`. */
function agentSettings(): Record<string, string | undefined> {
  const file = readEnvFile(".env");
  const pick = (name: string) => process.env[name] || file[name] || undefined;
  return { API_SECRET: pick("API_SECRET"), STREAM_TOKEN_KEY: pick("STREAM_TOKEN_KEY"), PORT: pick("PORT") };
}

async function main(argv: string[]): Promise<number> {
  const { values: flags } = parseArgs({
    args: argv,
    options: {
      "dry-run": { type: "boolean", default: false },
      "agent-url": { type: "string" },
      "site-url": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }

  const agent = agentSettings();
  const deploymentEnv = { ...readEnvFile(".env.local"), ...process.env };
  const agentUrl =
    checkedUrl("--agent-url", flags["agent-url"] ?? deploymentEnv.DOCKER_HOST_URL) ??
    (deploymentIsLocal(deploymentEnv) ? `http://127.0.0.1:${agent.PORT ?? "8080"}` : undefined);
  const siteUrl = checkedUrl("--site-url", flags["site-url"]) ?? "http://127.0.0.1:5173";

  const cli = convexCli();
  const existing = await cli.listNames();
  const plan = planVariables({ agent, agentUrl, siteUrl }, existing);

  const dryRun = flags["dry-run"];
  for (const name of plan.kept) console.log(`  ${name}: already set, left as it is`);
  if (dryRun && plan.set.length > 0) {
    console.log(
      `convex:env (dry run; nothing is changed) would run \`${cli.display} env set\` with these lines on stdin:`,
    );
  }
  if (!dryRun) await cli.setMany(plan.set);
  for (const p of plan.set) console.log(`  ${displayLine(p)}${dryRun ? "" : "  (set)"}`);
  for (const problem of plan.problems) console.error(`  not set: ${problem}`);
  const verb = dryRun ? "would set" : "set";
  console.log(
    `convex:env: ${verb} ${plan.set.length}, left ${plan.kept.length} as set, ${plan.problems.length} not set`,
  );
  return plan.problems.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConvexCliError) {
      console.error(`convex:env: ${err.message}`);
      console.error("Check that `npx convex env list` works here: the deployment is configured and answers.");
      return process.exit(1);
    }
    const message = err instanceof Error ? err.message : String(err);
    console.error(`convex:env: ${message}\n${USAGE}`);
    process.exit(2);
  },
);
