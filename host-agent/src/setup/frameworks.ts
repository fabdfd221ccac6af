/**
 * Which dev server a repo runs and how to make it listen where the environment expects it
 * (0.0.0.0 and the environment's port) and accept the host names it is reached by, with no
 * settings: one table, each row with the evidence it matches and what it adds.
 *
 * The evidence is the command the repo's own `dev` script (else `start`) runs first, and the
 * dependency that provides it. A script that is one command gets the row's flags appended through
 * the package manager (`npm run dev -- --port 3000`), so the repo's own script, with its own
 * options, still runs; a compound script (`a && b`, `concurrently …`) gets only the environment
 * variables, because a flag appended to it would land on its last command. A flag the script
 * already sets is not added again (two `--port` options confuse most parsers); the dev server then
 * listens where the script says, and the start phase forwards to it (dev-server.ts).
 *
 * What it leaves out: reading framework config files (vite.config.*, next.config.*). Options set
 * there win over nothing here except flags, which take precedence in every framework listed.
 */

/** What a detected row needs to know about the environment. */
export type Target = {
  /** The container port the environment's URL reaches. */
  port: number;
  /** Host names the dev server must accept (a leading dot: that domain and its subdomains). */
  allowedHosts: string[];
};

/** What the start phase runs, and what to say about it. */
export type DevLaunch = {
  /** The framework's name for people ("Vite", "Next.js", "a Node server"). */
  framework: string;
  /** Why: the script and dependency that matched. */
  evidence: string;
  script: string;
  /** Flags appended to the script (empty for compound scripts and repos whose script sets them). */
  args: string[];
  env: string[];
  /** Flags the script already set, so were not added (said in the log). */
  kept: string[];
};

type Row = {
  framework: string;
  /** Executables the script may start with. */
  bins: string[];
  /** The subcommand after the executable when it has several (`next dev`); absent: any. */
  subcommands?: (string | null)[];
  /** The package providing the executable (evidence, and detection for compound scripts). */
  dependency: string;
  /** Flags that bind every IPv4 address and the port, by option name (checked against the script). */
  flags: (t: Target) => [option: string, ...values: string[]][];
  env: (t: Target) => string[];
  /** Hooks a row needs loaded into Node (NODE_OPTIONS `--import`), by name (dev-origins.ts). */
  preload?: "next-dev-origins";
};

const VITE_FLAGS = (t: Target): [string, ...string[]][] => [
  ["--host", "0.0.0.0"],
  ["--port", String(t.port)],
  // Another port would be a URL the environment does not serve: fail loudly instead.
  ["--strictPort"],
];
/** Vite's own variable for hosts added to `server.allowedHosts` (read when that is a list, its default). */
const VITE_HOSTS_ENV = (t: Target) =>
  t.allowedHosts.length ? [`__VITE_ADDITIONAL_SERVER_ALLOWED_HOSTS=${t.allowedHosts.join(",")}`] : [];

/** Frameworks built on Vite that a repo's dependencies name, for the log's "Vite (SvelteKit)". */
const ON_VITE: [dependency: string, name: string][] = [
  ["@sveltejs/kit", "SvelteKit"],
  ["@react-router/dev", "React Router"],
  ["@remix-run/dev", "Remix"],
  ["@solidjs/start", "SolidStart"],
  ["@builder.io/qwik", "Qwik"],
  ["vitepress", "VitePress"],
];

export const FRAMEWORKS: Row[] = [
  { framework: "Vite", bins: ["vite"], dependency: "vite", flags: VITE_FLAGS, env: VITE_HOSTS_ENV },
  {
    framework: "Next.js",
    bins: ["next"],
    subcommands: ["dev"],
    dependency: "next",
    // Next reads PORT and binds every address (IPv4 and IPv6) unless told one: only the port.
    flags: (t) => [["--port", String(t.port)]],
    env: () => [],
    // Next has no variable for `allowedDevOrigins`; the hook adds the hosts (dev-origins hook).
    preload: "next-dev-origins",
  },
  {
    framework: "Nuxt",
    bins: ["nuxt", "nuxi"],
    subcommands: ["dev"],
    dependency: "nuxt",
    flags: (t) => [
      ["--host", "0.0.0.0"],
      ["--port", String(t.port)],
    ],
    env: VITE_HOSTS_ENV,
  },
  {
    framework: "Astro",
    bins: ["astro"],
    subcommands: ["dev", null],
    dependency: "astro",
    flags: (t) => [
      ["--host", "0.0.0.0"],
      ["--port", String(t.port)],
    ],
    env: VITE_HOSTS_ENV,
  },
  {
    framework: "React Router",
    bins: ["react-router"],
    subcommands: ["dev"],
    dependency: "@react-router/dev",
    flags: (t) => [["--host", "0.0.0.0"], ["--port", String(t.port)], ["--strictPort"]],
    env: VITE_HOSTS_ENV,
  },
  {
    framework: "Remix (Vite)",
    bins: ["remix"],
    subcommands: ["vite:dev"],
    dependency: "@remix-run/dev",
    flags: VITE_FLAGS,
    env: VITE_HOSTS_ENV,
  },
  {
    framework: "SolidStart (Vinxi)",
    bins: ["vinxi"],
    subcommands: ["dev"],
    dependency: "vinxi",
    flags: (t) => [
      ["--host", "0.0.0.0"],
      ["--port", String(t.port)],
    ],
    env: VITE_HOSTS_ENV,
  },
  {
    framework: "Angular",
    bins: ["ng"],
    subcommands: ["serve", "s", "dev"],
    dependency: "@angular/cli",
    flags: (t) => [
      ["--host", "0.0.0.0"],
      ["--port", String(t.port)],
      // Once per host: a list after one flag depends on the CLI's array parsing.
      ...t.allowedHosts.map((h) => ["--allowed-hosts", h] as [string, string]),
    ],
    env: () => [],
  },
  {
    // Create React App: webpack-dev-server configured from variables only.
    framework: "Create React App",
    bins: ["react-scripts"],
    subcommands: ["start"],
    dependency: "react-scripts",
    flags: () => [],
    env: (t) => [
      "BROWSER=none",
      // Its host check knows no list: it is on or off. Off, it no longer guards against DNS
      // rebinding; the environment's port is reached through the agent (its forward, the
      // preview gateway), which decides who gets there.
      ...(t.allowedHosts.length ? ["DANGEROUSLY_DISABLE_HOST_CHECK=true"] : []),
      // Hot reload's WebSocket goes to the port the page came from, not the container's.
      "WDS_SOCKET_PORT=0",
    ],
  },
];

/**
 * The row a repo's dependencies name, Vite last: Next.js, Nuxt and Astro repos often list vite
 * too (for vitest), and their own row is the one that applies.
 */
function byDependency(dependencies: string[]): Row | undefined {
  const has = (r: Row) => dependencies.includes(r.dependency);
  return FRAMEWORKS.find((r) => r.dependency !== "vite" && has(r)) ?? FRAMEWORKS.find(has);
}

/** The variables (and hook) for a command the repo's settings name: its framework's, by dependency. */
export function frameworkEnv(dependencies: string[], target: Target): { env: string[]; preload?: Row["preload"] } {
  const row = byDependency(dependencies);
  return {
    env: [...COMMON_ENV(target), ...(row?.env(target) ?? [])],
    ...(row?.preload ? { preload: row.preload } : {}),
  };
}

/** Every dev server gets these: the port and address by the convention most servers read. */
const COMMON_ENV = (t: Target) => [`PORT=${t.port}`, "HOST=0.0.0.0"];

/** Shell syntax that makes a script more than one command. */
const COMPOUND = /&&|\|\||[;|&<>`]|\$\(/;

type ScriptCommand = { bin: string; subcommand: string | null; tokens: string[] };

/** The first command of a one-command script, or null for a compound one. */
export function parseScript(script: string): ScriptCommand | null {
  if (COMPOUND.test(script)) return null;
  const tokens = script.trim().split(/\s+/).filter(Boolean);
  // Leading `NAME=value` assignments are the shell's, and `cross-env` sets them portably.
  let i = 0;
  while (i < tokens.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(tokens[i]!)) i++;
  if (tokens[i] === "cross-env") {
    i++;
    while (i < tokens.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(tokens[i]!)) i++;
  }
  const bin = tokens[i];
  if (!bin) return null;
  const next = tokens[i + 1];
  return { bin, subcommand: next && !next.startsWith("-") ? next : null, tokens: tokens.slice(i) };
}

/** Which of the row's options the script already sets (`--port 5173`, `--port=5173`, `-p`). */
function setByScript(tokens: string[], option: string): boolean {
  const aliases = option === "--port" ? ["--port", "-p"] : option === "--host" ? ["--host", "-H"] : [option];
  return tokens.some((t) => aliases.some((a) => t === a || t.startsWith(`${a}=`)));
}

const matches = (row: Row, cmd: ScriptCommand) =>
  row.bins.includes(cmd.bin) && (!row.subcommands || row.subcommands.includes(cmd.subcommand));

function displayName(row: Row, dependencies: string[]): string {
  if (row.framework !== "Vite") return row.framework;
  const on = ON_VITE.find(([dep]) => dependencies.includes(dep));
  return on ? `Vite (${on[1]})` : "Vite";
}

/**
 * The dev server to start: the `dev` script, else `start`; null when there is neither (the caller
 * says what to set). `scripts` and `dependencies` come from package.json (package-json.ts).
 */
export function detectDevServer(
  pkg: { scripts: Record<string, string>; dependencies: string[] },
  target: Target,
): (DevLaunch & { preload?: Row["preload"] }) | null {
  const script = pkg.scripts.dev !== undefined ? "dev" : pkg.scripts.start !== undefined ? "start" : null;
  if (!script) return null;
  const body = pkg.scripts[script]!;
  const cmd = parseScript(body);
  const byScript = cmd ? FRAMEWORKS.find((r) => matches(r, cmd)) : undefined;
  // A script the table does not know by its first word (compound, `npx vite`, `turbo dev`) still
  // says which framework runs through its dependencies: that row's variables apply, never flags.
  const row = byScript ?? byDependency(pkg.dependencies);
  const quoted = `${script} script "${body.length > 80 ? `${body.slice(0, 77)}...` : body}"`;
  if (!row)
    return { framework: "a Node server", evidence: quoted, script, args: [], env: COMMON_ENV(target), kept: [] };
  const hasDependency = pkg.dependencies.includes(row.dependency);
  const evidence = `${quoted}${hasDependency ? `, dependency ${row.dependency}` : ""}`;
  const args: string[] = [];
  const kept: string[] = [];
  for (const [option, ...values] of byScript ? row.flags(target) : []) {
    if (setByScript(cmd!.tokens, option)) kept.push(option);
    else args.push(option, ...values);
  }
  return {
    framework: displayName(row, pkg.dependencies),
    evidence,
    script,
    args,
    env: [...COMMON_ENV(target), ...row.env(target)],
    kept,
    ...(row.preload ? { preload: row.preload } : {}),
  };
}
