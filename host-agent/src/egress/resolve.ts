/**
 * Resolves a name once for the egress proxy: the operator's pinned answer (EGRESS_RESOLVE) first,
 * then the host's resolver, with a deadline. Every address is returned so the policy can refuse a
 * name that resolves to any forbidden address, not only the first.
 */
import { lookup } from "node:dns/promises";

const RESOLVE_TIMEOUT_MS = 5_000;

export async function resolveHost(host: string, pinned: string | undefined): Promise<string[]> {
  if (pinned) return [pinned];
  let timer: NodeJS.Timeout | undefined;
  try {
    const answers = await Promise.race([
      lookup(host, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("DNS timeout")), RESOLVE_TIMEOUT_MS);
      }),
    ]);
    return answers.map((a) => a.address);
  } finally {
    clearTimeout(timer);
  }
}
