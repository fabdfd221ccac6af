/**
 * `npm run convex:env [-- --dry-run] [--agent-url URL] [--site-url URL]`: gives the configured
 * Convex deployment (local, self-hosted or cloud: whatever `npx convex` is pointed at) the
 * environment this system needs, setting only what is missing. `npm run dev` runs it after it
 * has started a deployment; run it alone against any other. `--dry-run` prints the
 * `npx convex env set` calls it would make, secrets masked, and changes nothing.
 */
import { parseArgs } from "node:util";
import { ConvexCliError, convexCli } from "./convex-cli.js";
import { deploymentIsOnThisMachine, readEnvFile } from "./deployment.js";
import { displayValue, planVariables } from "./variables.js";

const USAGE = `usage: npm run convex:env -- [--dry-run] [--agent-url URL] [--site-url URL]
  --agent-url  the agent as the deployment reaches it (default for a deployment on this
               machine: http://127.0.0.1:<the agent's PORT>)
  --site-url   the dashboard's URL, for Convex Auth (default http://127.0.0.1:5173)
  --dry-run    print the calls it would make, secrets masked; change nothing
The CLI called is CONVEX_CLI (default "npx convex").`;

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
    flags["agent-url"] ??
    (deploymentIsOnThisMachine(deploymentEnv) ? `http://127.0.0.1:${agent.PORT ?? "8080"}` : undefined);
  const siteUrl = flags["site-url"] ?? "http://127.0.0.1:5173";

  const cli = convexCli();
  const existing = await cli.listNames();
  const plan = planVariables({ agent, agentUrl, siteUrl }, existing);

  const dryRun = flags["dry-run"];
  console.log(dryRun ? "convex:env (dry run; nothing is changed):" : "convex:env:");
  for (const name of plan.kept) console.log(`  ${name}: already set, left as it is`);
  for (const p of plan.set) {
    if (dryRun) console.log(`  ${cli.display} env set ${p.name} ${displayValue(p)}`);
    else {
      await cli.set(p.name, p.value);
      console.log(`  ${p.name}: set`);
    }
  }
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
      console.error("Is the deployment running? A local one runs while `npx convex dev` (or `npm run dev`) does.");
      return process.exit(1);
    }
    const message = err instanceof Error ? err.message : String(err);
    console.error(`convex:env: ${message}\n${USAGE}`);
    process.exit(2);
  },
);
