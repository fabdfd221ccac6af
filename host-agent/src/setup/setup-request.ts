/** A setup request as the route hands it over: parsed by the contract, defaults applied. */
import type { z } from "zod";
import type { SetupRequest } from "../api/contract.js";

export type Setup = z.output<typeof SetupRequest>;

/**
 * Variables every setup process gets unless the repo sets them. npm's update check (pnpm reads the
 * same setting) is a registry request on every `npm run dev` that changes nothing installed; where
 * egress does not allow the registry it is also a denial in the agent's log per start.
 */
const DEFAULT_ENV: Record<string, string> = { npm_config_update_notifier: "false" };

/** The environment list every process a setup starts gets: our defaults, the repo's variables, then ours. */
export function envList(req: Setup, extra: string[]): string[] {
  const defaults = Object.entries(DEFAULT_ENV).filter(([k]) => !(k in req.envVars));
  return [...[...defaults, ...Object.entries(req.envVars)].map(([k, v]) => `${k}=${v}`), ...extra];
}
