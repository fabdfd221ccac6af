/**
 * What the control plane's deployment needs in its environment to run this system, and where
 * each value comes from: the agent's own `.env` (its API secret and stream token key, which the
 * two sides must share), values generated here once (the callback key, the repo settings'
 * encryption key, Convex Auth's key pair), and two URLs. Only variables that are not set yet are planned: an existing value is never
 * replaced, and a half-set key pair is reported instead of being completed with a mismatch.
 */
import { randomBytes } from "node:crypto";
import { generateAuthKeys } from "./auth-keys.js";

export type Planned = { name: string; value: string; secret: boolean };
export type Plan = { set: Planned[]; kept: string[]; problems: string[] };

export type Sources = {
  /** The agent's configuration: its environment over its `.env`, as the agent reads it. */
  agent: Record<string, string | undefined>;
  /** The agent's base URL as the deployment reaches it; undefined when it cannot be known. */
  agentUrl: string | undefined;
  /** The dashboard's URL (Convex Auth's SITE_URL). */
  siteUrl: string;
};

/** Every variable this system sets, in the order it sets them. */
export const VARIABLES = [
  "DOCKER_HOST_URL",
  "DOCKER_API_SECRET",
  "DOCKER_STREAM_TOKEN_KEY",
  "DOCKER_CALLBACK_SECRET",
  "SETTINGS_ENCRYPTION_KEY",
  "JWT_PRIVATE_KEY",
  "JWKS",
  "SITE_URL",
] as const;

export function planVariables(sources: Sources, existing: ReadonlySet<string>): Plan {
  const plan: Plan = { set: [], kept: [], problems: [] };
  const want = (name: string, secret: boolean, value: () => string | undefined, missing: string) => {
    if (existing.has(name)) return void plan.kept.push(name);
    const v = value();
    if (v) plan.set.push({ name, value: v, secret });
    else plan.problems.push(`${name}: ${missing}`);
  };

  want(
    "DOCKER_HOST_URL",
    false,
    () => sources.agentUrl,
    "only a local deployment is known to reach the agent at 127.0.0.1: pass --agent-url (or set DOCKER_HOST_URL) with the URL this deployment reaches it at (a backend in Docker on this host: http://172.17.0.1:8080; a cloud one: the agent's public HTTPS URL)",
  );
  want(
    "DOCKER_API_SECRET",
    true,
    () => sources.agent.API_SECRET,
    "the agent has no API_SECRET: run `npm run agent` once (it writes .env with one) or set API_SECRET",
  );
  want(
    "DOCKER_STREAM_TOKEN_KEY",
    true,
    () => sources.agent.STREAM_TOKEN_KEY,
    "the agent has no STREAM_TOKEN_KEY: add one to its .env (openssl rand -hex 32), restart the agent and run this again",
  );
  want("DOCKER_CALLBACK_SECRET", true, () => randomBytes(32).toString("hex"), "");
  // AES-256-GCM key for repo settings' secret values (convex/crypto.ts): 32 random bytes, base64.
  // Never replaced once set: values sealed under the old key would no longer open.
  want("SETTINGS_ENCRYPTION_KEY", true, () => randomBytes(32).toString("base64"), "");
  planAuthKeys(plan, existing);
  want("SITE_URL", false, () => sources.siteUrl, "no dashboard URL: pass --site-url");
  return plan;
}

/** The key pair goes in together or not at all: a new JWKS beside an old private key breaks sign-in. */
function planAuthKeys(plan: Plan, existing: ReadonlySet<string>) {
  const hasKey = existing.has("JWT_PRIVATE_KEY");
  const hasJwks = existing.has("JWKS");
  if (hasKey && hasJwks) return void plan.kept.push("JWT_PRIVATE_KEY", "JWKS");
  if (hasKey || hasJwks) {
    const [present, absent] = hasKey ? ["JWT_PRIVATE_KEY", "JWKS"] : ["JWKS", "JWT_PRIVATE_KEY"];
    plan.kept.push(present);
    plan.problems.push(
      `${absent}: ${present} is set without it, and a new pair would not match the old half. Remove ${present} (npx convex env remove ${present}) and run this again to make a fresh pair`,
    );
    return;
  }
  const keys = generateAuthKeys();
  plan.set.push({ name: "JWT_PRIVATE_KEY", value: keys.JWT_PRIVATE_KEY, secret: true });
  plan.set.push({ name: "JWKS", value: keys.JWKS, secret: false });
}

/** A variable as the output shows it: a secret masked, anything else as it is set. */
export function displayLine(p: Planned): string {
  return `${p.name}=${p.secret ? `<secret, ${p.value.length} characters>` : p.value}`;
}
