/** A setup request as the route hands it over: parsed by the contract, defaults applied. */
import type { z } from "zod";
import type { SetupRequest } from "../api/contract.js";

export type Setup = z.output<typeof SetupRequest>;

/** The environment list every process a setup starts gets: the repo's variables, then ours. */
export function envList(req: Setup, extra: string[]): string[] {
  return [...Object.entries(req.envVars).map(([k, v]) => `${k}=${v}`), ...extra];
}
