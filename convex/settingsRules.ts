/**
 * The rules a repo's settings must satisfy, as pure functions: the settings mutation enforces
 * them and the dashboard's form shows them field by field before sending (as poolRules.ts does
 * for the pool), so the two can never disagree. Names, branches, images and limits are checked
 * with the agent's own contract schemas, so nothing is accepted here that the agent would refuse.
 *
 * Also the one-line command splitter: a dev or install command is edited as one line and stored
 * as an argv, with quotes but no shell (no expansion, no operators), so the agent never runs a
 * shell string built from a setting.
 *
 * Left out: encryption and storage (crypto.ts, settingsView.ts) and who may change settings.
 */
import { BranchName, EnvKey, ImageRef, ResourceLimits } from "@artie/host-agent/contract";
import { v, type Infer } from "convex/values";
import { IDLE_LIMIT_MINUTES, SETTINGS_BOUNDS } from "./limits";

export const RUNTIMES = ["docker", "firecracker"] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** One variable as sent by the form: a value sets or replaces it; no value keeps the stored one. */
export const envVarInput = v.object({ name: v.string(), value: v.optional(v.string()) });
/** Variables not listed are removed. */
export const repoSettingsInput = v.object({
  runtime: v.union(...RUNTIMES.map((r) => v.literal(r))),
  defaultBranch: v.string(),
  devCommand: v.optional(v.string()),
  installCommand: v.optional(v.string()),
  baseImage: v.optional(v.string()),
  ports: v.optional(v.array(v.number())),
  limits: v.optional(
    v.object({ memoryMb: v.optional(v.number()), cpus: v.optional(v.number()), pidsLimit: v.optional(v.number()) }),
  ),
  idleLimitMinutes: v.optional(v.number()),
  envVars: v.array(envVarInput),
});
export type RepoSettingsInput = Infer<typeof repoSettingsInput>;
export type EnvVarInput = Infer<typeof envVarInput>;
export type LimitName = keyof NonNullable<RepoSettingsInput["limits"]>;

/** Where a problem is: a top-level field, one limit, or the variable at that index of envVars. */
export type SettingsField = Exclude<keyof RepoSettingsInput, "limits"> | `limits.${LimitName}` | `envVars.${number}`;
export type SettingsProblem = { field: SettingsField; message: string };

/** What the server knows that the form may not: the names (and sizes) of stored values. */
export type StoredEnvVarFacts = { name: string; bytes?: number }[];

// ---------------------------------------------------------------------------------------------
// Commands: one line <-> argv
// ---------------------------------------------------------------------------------------------

/** Characters a shell would treat as syntax; unquoted here they are refused, not passed on. */
const SHELL_SYNTAX = new Set(["|", "&", ";", "<", ">", "(", ")", "`", "$", "*"]);

/**
 * Splits one line into an argv, like a shell's word splitting and nothing more: words are
 * separated by spaces or tabs; '...' keeps everything literally; "..." keeps everything but
 * `\"` and `\\`; a backslash outside quotes keeps the next character. Shell syntax outside
 * quotes (pipes, `&&`, `;`, redirects, `$VAR`, `*`) is refused with a way out,
 * because no shell runs it and it would otherwise reach the program as a literal word.
 */
export function splitCommandLine(line: string): { argv: string[] } | { error: string } {
  const argv: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charAt(i);
    if (c === " " || c === "\t") {
      if (inWord) argv.push(word);
      word = "";
      inWord = false;
    } else if (c === "'" || c === '"') {
      const end = c === "'" ? line.indexOf("'", i + 1) : closingDoubleQuote(line, i + 1);
      if (end < 0) return { error: `has an unclosed ${c} quote` };
      const body = line.slice(i + 1, end);
      word += c === "'" ? body : body.replace(/\\(["\\])/g, "$1");
      inWord = true;
      i = end;
    } else if (c === "\\") {
      if (i + 1 >= line.length) return { error: "ends with a lone backslash" };
      word += line.charAt(++i);
      inWord = true;
    } else if (SHELL_SYNTAX.has(c)) {
      return {
        error:
          `runs without a shell, so ${c} would reach the program as a plain character: quote it ('${c}'), ` +
          `or run a shell yourself, e.g. sh -c 'npm run build && npm start'`,
      };
    } else if (c === "\n" || c === "\r" || c === "\0") {
      return { error: "must be one line" };
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) argv.push(word);
  return { argv };
}

function closingDoubleQuote(line: string, from: number): number {
  for (let i = from; i < line.length; i++) {
    if (line[i] === "\\") i++;
    else if (line[i] === '"') return i;
  }
  return -1;
}

/** The one line that splitCommandLine turns back into `argv`, quoting only where needed. */
export function formatCommandLine(argv: string[]): string {
  return argv
    .map((w) => {
      if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w)) return w;
      if (!w.includes("'")) return `'${w}'`;
      return `"${w.replace(/(["\\])/g, "\\$1")}"`;
    })
    .join(" ");
}

/** A blank line means "the default" (the package manager's own command). */
export const isBlank = (s: string | undefined): s is undefined | "" => s === undefined || s.trim() === "";

// ---------------------------------------------------------------------------------------------
// Variables
// ---------------------------------------------------------------------------------------------

const PROXY_NAMES = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "NODE_USE_ENV_PROXY"];
/** The agent's trust settings (host-agent/src/trust/ca-bundle.ts), compared upper-case. */
const TRUST_NAMES = ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "NPM_CONFIG_CAFILE"];

/** Why a name the agent sets itself cannot be set here; null when it can. */
export function reservedReason(name: string): string | null {
  const upper = name.toUpperCase();
  if (name === "PORT" || name === "HOST")
    return `${name} is set by the agent: it tells the dev server where to listen (the first container port, on 0.0.0.0)`;
  if (PROXY_NAMES.includes(upper))
    return `${name} is set by the agent: it points every tool at the environment's egress proxy, its only way out`;
  if (TRUST_NAMES.includes(upper))
    return `${name} is set by the agent: it points the environment's tools at the CA certificates the host trusts (its egress proxy, the operator's EXTRA_CA_CERTS)`;
  if (upper.startsWith("ARTIE_")) return `${name}: names starting with ARTIE_ are reserved for the agent`;
  return null;
}

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

function envVarProblems(vars: EnvVarInput[], stored: StoredEnvVarFacts): SettingsProblem[] {
  const b = SETTINGS_BOUNDS.envVars;
  const problems: SettingsProblem[] = [];
  if (vars.length > b.count) problems.push({ field: "envVars", message: `At most ${b.count} variables` });
  const storedBytes = new Map(stored.map((s) => [s.name, s.bytes ?? 0]));
  const seen = new Set<string>();
  let total = 0;
  vars.forEach((e, i) => {
    const field = `envVars.${i}` as const;
    const fail = (message: string) => problems.push({ field, message });
    const label = e.name === "" ? "A variable" : e.name;
    if (!EnvKey.safeParse(e.name).success) {
      fail(`${label}: a name is letters, digits and _, not starting with a digit, at most 128 characters`);
      return;
    }
    const reserved = reservedReason(e.name);
    if (reserved) return void fail(reserved);
    if (seen.has(e.name)) return void fail(`${e.name} is listed twice`);
    seen.add(e.name);
    if (e.value === undefined) {
      if (!storedBytes.has(e.name)) fail(`${e.name} needs a value`);
      total += storedBytes.get(e.name) ?? 0;
      return;
    }
    const bytes = utf8Bytes(e.value);
    total += bytes;
    if (bytes > b.valueBytes) fail(`${e.name}: a value may be at most ${b.valueBytes / 1024} KiB`);
    else if (e.value.includes("\0")) fail(`${e.name}: a value cannot contain a NUL character`);
  });
  if (total > b.totalBytes) {
    problems.push({ field: "envVars", message: `All values together may be at most ${b.totalBytes / 1024} KiB` });
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The whole input
// ---------------------------------------------------------------------------------------------

const intIn = (x: number, lo: number, hi: number) => Number.isInteger(x) && x >= lo && x <= hi;

function commandProblem(line: string | undefined): string | null {
  if (isBlank(line)) return null;
  const { maxChars, maxWords } = SETTINGS_BOUNDS.command;
  if (line.length > maxChars) return `At most ${maxChars} characters`;
  const split = splitCommandLine(line);
  if ("error" in split) return `This command ${split.error}`;
  if (split.argv.length > maxWords) return `At most ${maxWords} words`;
  const [program = ""] = split.argv;
  if (program.startsWith("-")) return "Start with the program to run, not an option";
  return null;
}

function limitProblems(limits: RepoSettingsInput["limits"]): SettingsProblem[] {
  if (!limits) return [];
  const units: Record<LimitName, string> = { memoryMb: "MB of memory", cpus: "CPUs", pidsLimit: "processes" };
  const problems: SettingsProblem[] = [];
  for (const name of ["memoryMb", "cpus", "pidsLimit"] as const) {
    const value = limits[name];
    if (value === undefined) continue;
    const { min, max } = SETTINGS_BOUNDS.limits[name];
    const ok = ResourceLimits.safeParse({ [name]: value }).success && value >= min && value <= max;
    if (!ok) {
      const whole = name === "cpus" ? "a number" : "a whole number";
      problems.push({ field: `limits.${name}`, message: `${whole} of ${units[name]} from ${min} to ${max}` });
    }
  }
  return problems.map((p) => ({ ...p, message: p.message.charAt(0).toUpperCase() + p.message.slice(1) }));
}

/** An image name this system gives main images: `artie-main-<hash>:main`, and the older `<owner>-<repo>:main`. */
function isMainImageName(image: string): boolean {
  const [name = ""] = image.trim().split("@");
  return /(^|\/)artie-main-/.test(name) || /:main$/.test(name);
}

/**
 * Every problem with `input`, each naming its field, in the order of the form. `stored` are the
 * variables already saved (names, and sizes where known): a variable sent without a value must
 * be one of them.
 */
export function repoSettingsProblems(input: RepoSettingsInput, stored: StoredEnvVarFacts = []): SettingsProblem[] {
  const problems: SettingsProblem[] = [];
  const check = (ok: boolean, field: SettingsField, message: string) => {
    if (!ok) problems.push({ field, message });
  };
  check((RUNTIMES as readonly string[]).includes(input.runtime), "runtime", "Choose docker or firecracker");
  check(
    BranchName.safeParse(input.defaultBranch).success,
    "defaultBranch",
    "A git branch name such as main (no spaces, no '..', not starting with '-' or '.')",
  );
  for (const field of ["devCommand", "installCommand"] as const) {
    const problem = commandProblem(input[field]);
    if (problem) problems.push({ field, message: problem });
  }
  check(
    isBlank(input.baseImage) || ImageRef.safeParse(input.baseImage).success,
    "baseImage",
    "A Docker image reference such as node:24-slim (lowercase, optional registry, tag and digest)",
  );
  // Main images hold a team's dependencies; the agent picks the team's own itself and refuses
  // anyone else's, so naming one here is refused up front with the reason.
  check(
    isBlank(input.baseImage) || !isMainImageName(input.baseImage),
    "baseImage",
    "Main images (artie-main-…, …:main) are made and chosen by the host; name the image they build on, e.g. node:24-slim",
  );
  const p = SETTINGS_BOUNDS.ports;
  check(
    input.ports === undefined ||
      (input.ports.length >= 1 &&
        input.ports.length <= p.count &&
        new Set(input.ports).size === input.ports.length &&
        input.ports.every((port) => intIn(port, p.min, p.max))),
    "ports",
    `1-${p.count} different ports from ${p.min} to ${p.max}`,
  );
  problems.push(...limitProblems(input.limits));
  check(
    input.idleLimitMinutes === undefined ||
      intIn(input.idleLimitMinutes, IDLE_LIMIT_MINUTES.min, IDLE_LIMIT_MINUTES.max),
    "idleLimitMinutes",
    `A whole number of minutes from ${IDLE_LIMIT_MINUTES.min} to ${IDLE_LIMIT_MINUTES.max}`,
  );
  problems.push(...envVarProblems(input.envVars, stored));
  return problems;
}

/** The settings as stored (commands as argv, blanks dropped), for input without problems. */
export type NormalizedSettings = {
  runtime: Runtime;
  defaultBranch: string;
  devCommand?: string[];
  installCommand?: string[];
  baseImage?: string;
  ports?: number[];
  limits?: { memoryMb?: number; cpus?: number; pidsLimit?: number };
  idleLimitMinutes?: number;
};

/** Checks and normalizes in one step: what the mutation stores, or every problem. */
export function normalizeRepoSettings(
  input: RepoSettingsInput,
  stored: StoredEnvVarFacts = [],
): { ok: true; settings: NormalizedSettings } | { ok: false; problems: SettingsProblem[] } {
  const problems = repoSettingsProblems(input, stored);
  if (problems.length > 0) return { ok: false, problems };
  const argv = (line: string | undefined) => {
    if (isBlank(line)) return undefined;
    const split = splitCommandLine(line);
    return "argv" in split ? split.argv : undefined;
  };
  const limits = Object.fromEntries(Object.entries(input.limits ?? {}).filter(([, x]) => x !== undefined));
  return {
    ok: true,
    settings: {
      runtime: input.runtime,
      defaultBranch: input.defaultBranch,
      devCommand: argv(input.devCommand),
      installCommand: argv(input.installCommand),
      baseImage: isBlank(input.baseImage) ? undefined : input.baseImage,
      ports: input.ports,
      limits: Object.keys(limits).length > 0 ? limits : undefined,
      idleLimitMinutes: input.idleLimitMinutes,
    },
  };
}
