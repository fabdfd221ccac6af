/**
 * Entry point: reads config from the environment (and `.env` when present), starts the agent,
 * stops cleanly on SIGTERM/SIGINT. A bad configuration exits with one message naming the
 * variable. An unreachable Docker engine does not stop it: /health reports it until it answers.
 */
import { existsSync } from "node:fs";
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./lib/logger.js";
import { startAgent } from "./server.js";

function readConfig() {
  if (existsSync(".env")) process.loadEnvFile(".env");
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

async function main() {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  const agent = await startAgent(config, logger);
  const stop = (signal: string) => {
    logger.info({ signal }, "shutting down");
    void agent.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`host agent failed to start: ${message}`);
  process.exit(1);
});
