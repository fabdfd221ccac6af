/**
 * Host name patterns of the egress allow- and denylists: an exact name (`registry.example.com`)
 * or a wildcard over subdomains (`*.example.com`, which matches `a.example.com` and
 * `a.b.example.com` but not the bare `example.com`). Patterns that would open everything or a
 * whole top-level domain (`*`, `*.com`) are refused, as are IP literals (addresses are opened
 * with EGRESS_ALLOWED_CIDRS, never by name). Pure; used by the config to refuse bad patterns at
 * start-up and by the egress proxy to match.
 */
import { isIP } from "node:net";

export type HostPattern = { wildcard: boolean; name: string };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Lowercase, no trailing dot: how names are compared. */
export const normalizeHost = (host: string) => host.trim().toLowerCase().replace(/\.$/, "");

/** What is wrong with a pattern, or null when it is a valid, narrow enough pattern. */
export function patternProblem(raw: string): string | null {
  const p = normalizeHost(raw);
  if (p === "*" || p === "*.*") return `"${raw}" would allow every host`;
  if (isIP(p) || isIP(p.replace(/^\[|\]$/g, ""))) return `"${raw}" is an IP address: use EGRESS_ALLOWED_CIDRS`;
  const wildcard = p.startsWith("*.");
  const labels = (wildcard ? p.slice(2) : p).split(".");
  if (!labels.every((l) => LABEL.test(l))) return `"${raw}" is not a host name or *.domain pattern`;
  if (wildcard && labels.length < 2) return `"${raw}" covers a whole top-level domain`;
  return null;
}

export function parsePattern(raw: string): HostPattern {
  const problem = patternProblem(raw);
  if (problem) throw new Error(problem);
  const p = normalizeHost(raw);
  return p.startsWith("*.") ? { wildcard: true, name: p.slice(2) } : { wildcard: false, name: p };
}

export function matches(pattern: HostPattern, host: string): boolean {
  const h = normalizeHost(host);
  return pattern.wildcard ? h.endsWith(`.${pattern.name}`) : h === pattern.name;
}
