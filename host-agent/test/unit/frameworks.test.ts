// Covers src/setup/frameworks.ts (the framework table), dev-origins.ts (accepted hosts) and
// package-json.ts: what a repo's package.json makes the start phase run, with no settings.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { allowedHosts, nextHookEnv, nextOrigins } from "../../src/setup/dev-origins.js";
import { detectDevServer, frameworkEnv, parseScript } from "../../src/setup/frameworks.js";
import { parsePackageJson } from "../../src/setup/package-json.js";
import { runScriptArgv } from "../../src/setup/package-managers.js";

const target = { port: 3000, allowedHosts: ["dev.example.com", ".preview.example.com"] };
const pkg = (scripts: Record<string, string>, dependencies: string[] = []) => ({ scripts, dependencies });

describe("detectDevServer: one row per framework, matched by the script's command", () => {
  const cases: Array<[string, string, string[], string, string[], string[]]> = [
    // name, dev script, dependencies, framework, flags added, variables expected among env
    [
      "Vite",
      "vite",
      ["vite"],
      "Vite",
      ["--host", "0.0.0.0", "--port", "3000", "--strictPort"],
      ["__VITE_ADDITIONAL_SERVER_ALLOWED_HOSTS=dev.example.com,.preview.example.com"],
    ],
    [
      "SvelteKit",
      "vite dev",
      ["vite", "@sveltejs/kit"],
      "Vite (SvelteKit)",
      ["--host", "0.0.0.0", "--port", "3000", "--strictPort"],
      [],
    ],
    ["Next.js", "next dev --turbopack", ["next"], "Next.js", ["--port", "3000"], ["PORT=3000"]],
    ["Nuxt", "nuxt dev", ["nuxt"], "Nuxt", ["--host", "0.0.0.0", "--port", "3000"], []],
    ["Astro", "astro dev", ["astro"], "Astro", ["--host", "0.0.0.0", "--port", "3000"], []],
    [
      "React Router",
      "react-router dev",
      ["@react-router/dev"],
      "React Router",
      ["--host", "0.0.0.0", "--port", "3000", "--strictPort"],
      [],
    ],
    [
      "Remix",
      "remix vite:dev",
      ["@remix-run/dev"],
      "Remix (Vite)",
      ["--host", "0.0.0.0", "--port", "3000", "--strictPort"],
      [],
    ],
    [
      "CRA",
      "react-scripts start",
      ["react-scripts"],
      "Create React App",
      [],
      ["BROWSER=none", "WDS_SOCKET_PORT=0", "DANGEROUSLY_DISABLE_HOST_CHECK=true"],
    ],
    ["plain node", "node server.js", [], "a Node server", [], ["PORT=3000", "HOST=0.0.0.0"]],
  ];
  it.each(cases)("%s", (_name, script, deps, framework, args, env) => {
    const launch = detectDevServer(pkg({ dev: script }, deps), target)!;
    expect(launch.framework).toBe(framework);
    expect(launch.script).toBe("dev");
    expect(launch.args).toEqual(args);
    for (const v of env) expect(launch.env).toContain(v);
    expect(launch.evidence).toContain(`dev script "${script}"`);
  });

  it("Angular's `start: ng serve` gets host, port and the allowed hosts as flags", () => {
    const launch = detectDevServer(pkg({ start: "ng serve", build: "ng build" }, ["@angular/cli"]), target)!;
    expect(launch.script).toBe("start");
    expect(launch.args).toEqual([
      "--host",
      "0.0.0.0",
      "--port",
      "3000",
      "--allowed-hosts",
      "dev.example.com",
      "--allowed-hosts",
      ".preview.example.com",
    ]);
  });

  it("a flag the script sets is kept, not added twice", () => {
    const launch = detectDevServer(pkg({ dev: "vite --port 5173" }, ["vite"]), target)!;
    expect(launch.args).toEqual(["--host", "0.0.0.0", "--strictPort"]);
    expect(launch.kept).toEqual(["--port"]);
    expect(detectDevServer(pkg({ dev: "vite --host=127.0.0.1" }, ["vite"]), target)!.kept).toEqual(["--host"]);
  });

  it("a compound script gets the framework's variables from its dependencies, never flags", () => {
    const launch = detectDevServer(pkg({ dev: "vite & node api.js" }, ["vite"]), target)!;
    expect(launch.framework).toBe("Vite");
    expect(launch.args).toEqual([]);
    expect(launch.env.some((e) => e.startsWith("__VITE_ADDITIONAL_SERVER_ALLOWED_HOSTS="))).toBe(true);
  });

  it("a script the table does not know by its first word gets its framework's variables by dependency", () => {
    const viaNpx = detectDevServer(pkg({ dev: "npx vite" }, ["vite"]), target)!;
    expect(viaNpx.framework).toBe("Vite");
    expect(viaNpx.args).toEqual([]);
    expect(viaNpx.env.some((e) => e.startsWith("__VITE_ADDITIONAL_SERVER_ALLOWED_HOSTS="))).toBe(true);
    // A Next.js repo that also lists vite (for vitest) is a Next.js repo: the hook, not Vite's variable.
    const next = detectDevServer(pkg({ dev: "turbo dev" }, ["vite", "next"]), target)!;
    expect(next.framework).toBe("Next.js");
    expect(next.preload).toBe("next-dev-origins");
    expect(frameworkEnv(["vitest", "vite", "next"], target).preload).toBe("next-dev-origins");
    expect(frameworkEnv([], target)).toEqual({ env: ["PORT=3000", "HOST=0.0.0.0"] });
  });

  it("prefers dev over start, and has nothing to run without either", () => {
    expect(detectDevServer(pkg({ dev: "vite", start: "node server.js" }, ["vite"]), target)!.script).toBe("dev");
    expect(detectDevServer(pkg({ build: "tsc" }), target)).toBeNull();
  });

  it("with no host to accept, adds no host variables", () => {
    const launch = detectDevServer(pkg({ start: "react-scripts start" }, ["react-scripts"]), {
      port: 3000,
      allowedHosts: [],
    })!;
    expect(launch.env).not.toContain("DANGEROUSLY_DISABLE_HOST_CHECK=true");
    expect(detectDevServer(pkg({ dev: "vite" }), { port: 3000, allowedHosts: [] })!.env).toEqual([
      "PORT=3000",
      "HOST=0.0.0.0",
    ]);
  });
});

describe("parseScript", () => {
  it("skips leading assignments and cross-env, and spots compound scripts", () => {
    expect(parseScript("NODE_ENV=development vite --open")).toMatchObject({ bin: "vite", subcommand: null });
    expect(parseScript("cross-env FOO=1 next dev")).toMatchObject({ bin: "next", subcommand: "dev" });
    for (const s of ["a && b", "a || b", "a; b", "a | b", "a > log", "echo $(id)", "a & b", "`id`"])
      expect(parseScript(s)).toBeNull();
  });
});

describe("the script runs through the package manager with the flags where it takes them", () => {
  const launcher = (argv: string[]) => ({ argv, env: [], berry: false, alwaysInstall: null, summary: "" });
  it("npm needs `--`, the others must not get one", () => {
    const flags = ["--port", "3000"];
    expect(runScriptArgv(launcher(["npm"]), "npm", "dev", flags)).toEqual([
      "npm",
      "run",
      "dev",
      "--",
      "--port",
      "3000",
    ]);
    expect(runScriptArgv(launcher(["corepack", "pnpm@9.15.0"]), "pnpm", "dev", flags)).toEqual([
      "corepack",
      "pnpm@9.15.0",
      "run",
      "dev",
      "--port",
      "3000",
    ]);
    expect(runScriptArgv(launcher(["yarn"]), "yarn", "dev", flags)).toEqual(["yarn", "run", "dev", "--port", "3000"]);
    expect(runScriptArgv(launcher(["npm"]), "npm", "dev")).toEqual(["npm", "run", "dev"]);
  });
});

describe("allowedHosts and Next's origins", () => {
  const base = { API_SECRET: "x".repeat(40) };
  it("PUBLIC_HOST, the preview domain and the dashboard origins' hosts, once each", () => {
    const config = loadConfig({
      ...base,
      PUBLIC_HOST: "Dev.Example.com",
      PREVIEW_DOMAIN: "preview.example.com",
      DASHBOARD_ORIGINS: "https://app.example.com,*,not a url,http://[::1]:5173",
    });
    expect(allowedHosts(config)).toEqual(["dev.example.com", ".preview.example.com", "app.example.com", "[::1]"]);
  });
  it("refuses a preview domain that is not a DNS name", () => {
    expect(() => loadConfig({ ...base, PREVIEW_DOMAIN: "preview.example.com,evil" })).toThrow(/PREVIEW_DOMAIN/);
  });
  it("Next gets the domain and its subdomains, after the repo's own NODE_OPTIONS", () => {
    expect(nextOrigins(["dev.example.com", ".preview.example.com", "[::1]"])).toEqual([
      "dev.example.com",
      "preview.example.com",
      "**.preview.example.com",
      "::1",
    ]);
    const env = nextHookEnv(["a.example.com"], "--max-old-space-size=512");
    expect(env[0]).toBe("ARTIE_DEV_ORIGINS=a.example.com");
    expect(env[1]).toMatch(/^NODE_OPTIONS=--max-old-space-size=512 --import=data:text\/javascript,[^ ]+$/);
    expect(nextHookEnv([], undefined)).toEqual([]);
  });
});

describe("parsePackageJson: the repo's file is hostile", () => {
  it("keeps scripts, dependency names and a pinned package manager", () => {
    const facts = parsePackageJson(
      JSON.stringify({
        scripts: { dev: "vite", bad: 42 },
        dependencies: { react: "^19" },
        devDependencies: { vite: "^8", react: "^19" },
        packageManager: "pnpm@9.15.0+sha512.abc",
      }),
    );
    expect(facts.scripts).toEqual({ dev: "vite" });
    expect(facts.dependencies).toEqual(["react", "vite"]);
    expect(facts.packageManager).toEqual({ name: "pnpm", version: "9.15.0", hash: "sha512.abc" });
  });
  it("survives invalid JSON, wrong types and unknown managers", () => {
    expect(parsePackageJson("{").scripts).toEqual({});
    expect(parsePackageJson(JSON.stringify([1, 2])).dependencies).toEqual([]);
    expect(parsePackageJson(JSON.stringify({ scripts: "x", dependencies: null })).scripts).toEqual({});
    const odd = parsePackageJson(JSON.stringify({ packageManager: "pnpm@latest" }));
    expect(odd.packageManager).toBeNull();
    expect(odd.packageManagerUnknown).toBe("pnpm@latest");
    expect(parsePackageJson(null).packageManager).toBeNull();
  });
});
