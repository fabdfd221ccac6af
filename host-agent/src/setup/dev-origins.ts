/**
 * The host names a dev server must accept, and the one hook that makes Next.js accept them.
 *
 * Dev servers refuse requests for host names they do not know (Vite's `server.allowedHosts`,
 * Next.js's `allowedDevOrigins`), and an environment is reached by names its repo cannot know:
 * PUBLIC_HOST, the preview domain, the dashboard's origins.
 *
 * Next.js reads `allowedDevOrigins` only from next.config, and has no variable for it; without it,
 * Next 15.2+ answers 403 to hot reload's WebSocket and to dev resources requested with an Origin
 * it does not list. So the dev server gets an ES module preloaded through NODE_OPTIONS (a data:
 * URL, nothing written into the repo or the container) that wraps Next's check
 * (`next/dist/server/lib/router-utils/block-cross-site-dev`) to add ARTIE_DEV_ORIGINS to the
 * list. The hook's code is constant and reads the hosts from the environment; in a Next.js
 * version without that module it does nothing, and the check stays Next's own.
 */
import { isIP } from "node:net";
import type { Config } from "../config.js";

/** PUBLIC_HOST, `.PREVIEW_DOMAIN` (that domain and its subdomains) and the dashboard origins' hosts. */
export function allowedHosts(config: Pick<Config, "publicHost" | "previewDomain" | "dashboardOrigins">): string[] {
  const hosts = new Set<string>();
  const add = (h: string) => {
    const host = h.trim().toLowerCase();
    // Hosts only: a list Vite would skip whole for one odd character (its reserved-characters check).
    if (host && /^\.?[a-z0-9.:-]+$/.test(host)) hosts.add(isIP(host) === 6 ? `[${host}]` : host);
  };
  add(config.publicHost);
  if (config.previewDomain) add(`.${config.previewDomain}`);
  for (const origin of config.dashboardOrigins) {
    if (origin === "*") continue;
    try {
      add(new URL(origin).hostname.replace(/^\[|\]$/g, ""));
    } catch {
      // Not a URL: the agent's CORS check ignores it too.
    }
  }
  return [...hosts];
}

/** Next's patterns for the same hosts: a leading dot becomes the domain and `**.` its subdomains. */
export const nextOrigins = (hosts: string[]) =>
  hosts.flatMap((h) => (h.startsWith(".") ? [h.slice(1), `**${h}`] : [h.replace(/^\[|\]$/g, "")]));

const NEXT_HOOK = `import Module from "node:module";
const extra = (process.env.ARTIE_DEV_ORIGINS || "").split(",").filter(Boolean);
const load = Module._load;
const wrapped = new WeakMap();
if (extra.length) Module._load = function (request, ...rest) {
  const m = load.call(this, request, ...rest);
  if (typeof request !== "string" || !request.endsWith("block-cross-site-dev") || !m || typeof m.blockCrossSiteDEV !== "function") return m;
  if (!wrapped.has(m)) {
    const check = m.blockCrossSiteDEV;
    const fn = (req, res, allowed, ...more) => check(req, res, [...(allowed || []), ...extra], ...more);
    wrapped.set(m, new Proxy(m, { get: (t, k) => (k === "blockCrossSiteDEV" ? fn : Reflect.get(t, k)) }));
  }
  return wrapped.get(m);
};
`;

/** NODE_OPTIONS flag that preloads the hook (percent-encoded: NODE_OPTIONS splits on spaces). */
export const NEXT_HOOK_OPTION = `--import=data:text/javascript,${encodeURIComponent(NEXT_HOOK)}`;

/** The environment for a Next.js dev server: the hosts and the hook, after any NODE_OPTIONS of the repo's. */
export function nextHookEnv(hosts: string[], repoNodeOptions: string | undefined): string[] {
  if (!hosts.length) return [];
  const options = [repoNodeOptions, NEXT_HOOK_OPTION].filter(Boolean).join(" ");
  return [`ARTIE_DEV_ORIGINS=${nextOrigins(hosts).join(",")}`, `NODE_OPTIONS=${options}`];
}
