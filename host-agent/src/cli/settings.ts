/**
 * Where the CLI finds the agent and its secret: AGENT_URL and API_SECRET from the environment,
 * else from `.env` (the file the agent itself reads; `--env-file` names another). Without
 * AGENT_URL the address is the agent's own PORT and BIND_ADDRESS with their defaults
 * (config.ts's listenAddress), a wildcard bind asked on loopback. The environment wins over the
 * file, as it does for the agent. It leaves out everything else the agent reads.
 */
import { existsSync } from "node:fs";
import { z } from "zod";
import { ConfigError, isWildcardAddress, listenAddress } from "../config.js";
import { CliError } from "./failure.js";

export type CliSettings = {
  /** The agent's base URL, no trailing slash. */
  url: string;
  /** Where `url` came from, for a message that says what to change. */
  urlFrom: string;
  secret: string | undefined;
};

const AgentUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });

/** Reads `envFile` (when given it must exist; `.env` only when present) into `env`, then the settings. */
export function readSettings(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): CliSettings {
  const file = envFile ?? ".env";
  if (envFile !== undefined && !existsSync(envFile)) throw new CliError(`No env file at ${envFile}.`);
  if (existsSync(file)) process.loadEnvFile(file);
  return { ...agentUrl(env, file), secret: env.API_SECRET || undefined };
}

function agentUrl(env: NodeJS.ProcessEnv, file: string): { url: string; urlFrom: string } {
  if (env.AGENT_URL) {
    const parsed = AgentUrl.safeParse(env.AGENT_URL);
    if (!parsed.success) throw new CliError(`AGENT_URL ${parsed.error.issues[0]!.message} (it is "${env.AGENT_URL}").`);
    return { url: parsed.data.replace(/\/+$/, ""), urlFrom: "AGENT_URL" };
  }
  let listen: { port: number; bindAddress: string };
  try {
    listen = listenAddress(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`${err.message}; or set AGENT_URL.`);
    throw err;
  }
  if (listen.port === 0)
    throw new CliError("PORT=0 lets the agent pick a free port: set AGENT_URL to where it listens.");
  const host = isWildcardAddress(listen.bindAddress)
    ? listen.bindAddress === "::"
      ? "[::1]"
      : "127.0.0.1"
    : listen.bindAddress.includes(":")
      ? `[${listen.bindAddress}]`
      : listen.bindAddress;
  return { url: `http://${host}:${listen.port}`, urlFrom: `PORT and BIND_ADDRESS (environment or ${file})` };
}
