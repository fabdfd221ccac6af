/**
 * Test wiring for the GitHub App and repo settings in convex-test: a configured deployment whose
 * GitHub is the stand-in (test.githubStandIn.ts) and whose host agent is a small fake that
 * answers create and setup as the contract says and keeps every request body (so a test can see
 * exactly what a setup sent), both behind one stubbed `fetch`; a settings key; and a leak scan
 * over every table of the schema and every scheduled function's arguments. Two dots in the file
 * name: the Convex CLI never deploys it. Leaves out the real agent (e2e.int.test.ts has it).
 */
import { vi } from "vitest";
import type { GenericId } from "convex/values";
import { generateAppKeys, GitHubStandIn, type StandInInstallation, type StandInUser } from "./test.githubStandIn";
import schema from "./schema";
import type { setupTest } from "./test.setup";

export const APP_ID = "424242";
export const CLIENT_ID = "Iv23liTestClient";
export const CLIENT_SECRET = "test-client-secret-" + "s".repeat(24);
export const AGENT_URL = "http://agent.test";
/** 32 bytes, base64: the deployment's SETTINGS_ENCRYPTION_KEY in these tests. */
export const SETTINGS_KEY = btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => i * 7 + 1)));

let keys: Promise<Awaited<ReturnType<typeof generateAppKeys>>> | undefined;

export type AgentRequest = { method: string; path: string; body: unknown };

/** A deployment wired to a fresh stand-in and a fake agent; undo with vi.unstubAllEnvs/Globals. */
export async function stubDeployment(
  options: {
    installations?: StandInInstallation[];
    users?: StandInUser[];
    appConfigured?: boolean;
    /** The fake agent refuses setups with a message quoting the request (token and values). */
    echoSetup?: boolean;
  } = {},
) {
  const { publicKey, pkcs1Pem } = await (keys ??= generateAppKeys());
  const gh = new GitHubStandIn({
    appId: APP_ID,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    publicKey,
    installations: options.installations,
    users: options.users,
  });
  const agent: AgentRequest[] = [];
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (!req.url.startsWith(AGENT_URL)) return gh.fetch(req);
    const path = new URL(req.url).pathname;
    const text = await req.text();
    const body: unknown = text ? JSON.parse(text) : null;
    agent.push({ method: req.method, path, body });
    const json = (status: number, value: unknown) =>
      new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
    let m: RegExpExecArray | null;
    if (req.method === "POST" && path === "/api/containers") {
      const { id, name } = body as { id: string; name: string };
      return json(201, { id, name, hostPort: 21000, ports: [{ containerPort: 3000, hostPort: 21000 }], created: true });
    }
    if (req.method === "POST" && (m = /^\/api\/containers\/([^/]+)\/setup$/.exec(path))) {
      if (options.echoSetup) {
        const message = `refused ${text}`;
        return json(400, { error: { code: "invalid_request", message, requestId: "r" } });
      }
      return json(202, { id: m[1], accepted: true });
    }
    return json(404, { error: { code: "not_found", message: "fake agent: no such route", requestId: "r" } });
  });
  vi.stubEnv("DOCKER_HOST_URL", AGENT_URL);
  vi.stubEnv("DOCKER_API_SECRET", "x".repeat(40));
  vi.stubEnv("DOCKER_CALLBACK_SECRET", "y".repeat(20));
  vi.stubEnv("DOCKER_STREAM_TOKEN_KEY", "k".repeat(40));
  vi.stubEnv("CONVEX_SITE_URL", "http://site.test");
  vi.stubEnv("SETTINGS_ENCRYPTION_KEY", SETTINGS_KEY);
  const configured = options.appConfigured !== false;
  const app: Record<string, string> = {
    GITHUB_APP_ID: APP_ID,
    GITHUB_APP_PRIVATE_KEY: pkcs1Pem,
    GITHUB_APP_CLIENT_ID: CLIENT_ID,
    GITHUB_APP_CLIENT_SECRET: CLIENT_SECRET,
    GITHUB_APP_SLUG: "artie-test",
    GITHUB_API_URL: gh.origin,
    GITHUB_URL: gh.origin,
  };
  for (const [name, value] of Object.entries(app)) vi.stubEnv(name, configured ? value : "");
  return { gh, agent, setups: () => agent.filter((r) => r.path.endsWith("/setup")).map((r) => r.body as Setup) };
}

export type Setup = {
  repo: string;
  tenant: string;
  githubToken?: string;
  envVars: Record<string, string>;
  devCommand?: string[];
  installCommand?: string[];
  image?: string;
  buildMainImage: boolean;
};

/**
 * Every stored document of every table in the schema, and every scheduled function's arguments,
 * as one JSON text per row: what a leak scan searches.
 */
export async function everythingStored(t: ReturnType<typeof setupTest>): Promise<string[]> {
  return t.run(async (ctx) => {
    const rows: string[] = [];
    for (const table of Object.keys(schema.tables)) {
      for (const doc of await ctx.db.query(table as keyof typeof schema.tables).collect()) {
        rows.push(`${table}: ${JSON.stringify(doc)}`);
      }
    }
    for (const job of await ctx.db.system.query("_scheduled_functions").collect()) {
      rows.push(`_scheduled_functions: ${JSON.stringify(job)}`);
    }
    return rows;
  });
}

/** The rows (of everythingStored) that contain any of `secrets`. */
export async function rowsHolding(t: ReturnType<typeof setupTest>, secrets: string[]): Promise<string[]> {
  const rows = await everythingStored(t);
  return rows.filter((row) => secrets.some((s) => s.length > 0 && row.includes(s)));
}

export type AnyId = GenericId<string>;
