/**
 * Entry point: reads config from the environment (and `.env` when present), starts the agent,
 * stops cleanly on SIGTERM/SIGINT (server.ts `close`: streams closed, callbacks on disk,
 * containers left running), within SHUTDOWN_MAX_MS; a second signal exits at once. A bad
 * configuration exits with one message naming the variable. An unreachable Docker engine does
 * not stop it: /health reports it until it answers.
 */
import { existsSync } from "node:fs";
import { ConfigError, loadConfig, SHUTDOWN_MAX_MS } from "./config.js";
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
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting without waiting");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    const deadline = setTimeout(() => {
      logger.error({ ms: SHUTDOWN_MAX_MS }, "shutdown did not finish in time: exiting anyway");
      process.exit(1);
    }, SHUTDOWN_MAX_MS);
    agent.close().then(
      () => {
        clearTimeout(deadline);
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err: String(err) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`host agent failed to start: ${message}`);
  process.exit(1);
});
