/**
 * Resolves names for the egress proxy: the operator's pinned answer (EGRESS_RESOLVE) first, then
 * the host's resolver, with a deadline. Every address is returned so the policy can refuse a name
 * that resolves to any forbidden address, not only the first.
 *
 * One lookup per name is in flight at a time, and an answer is kept for a short while. A package
 * manager opens dozens of connections to one registry at once (yarn 4 fetches about fifty packages
 * in parallel); each lookup is a getaddrinfo call on libuv's four-thread pool, so fifty separate
 * lookups queue behind each other and the last ones outran the deadline (15 s on a slow resolver),
 * which the policy then reported as "unresolvable". Sharing the lookup keeps the deadline honest.
 * The cache is per agent and holds only what the host's resolver answered, never anything a
 * container sent; the policy still checks every address of every answer on every connection.
 * Failures are not kept: the next connection asks again.
 */
import { lookup } from "node:dns/promises";

const RESOLVE_TIMEOUT_MS = 5_000;
/** How long an answer is reused. Short, so a moved registry is followed within a minute. */
const ANSWER_TTL_MS = 30_000;
/** Names remembered at most; the oldest goes first (a container can ask for any number of names). */
const ANSWERS_KEPT = 512;

export type LookupAll = (host: string) => Promise<string[]>;

const systemLookup: LookupAll = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export class HostResolver {
  private readonly answers = new Map<string, { addresses: string[]; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<string[]>>();

  constructor(
    private readonly lookupAll: LookupAll = systemLookup,
    private readonly now: () => number = Date.now,
    private readonly timeoutMs = RESOLVE_TIMEOUT_MS,
  ) {}

  async resolve(host: string, pinned: string | undefined): Promise<string[]> {
    if (pinned) return [pinned];
    const name = host.toLowerCase().replace(/\.$/, "");
    const kept = this.answers.get(name);
    if (kept && kept.expiresAt > this.now()) return kept.addresses;
    return withDeadline(this.lookupOnce(name), this.timeoutMs);
  }

  /** The lookup for this name already under way, or a new one; a late answer is still kept. */
  private lookupOnce(name: string): Promise<string[]> {
    const pending = this.inFlight.get(name);
    if (pending) return pending;
    const started = this.lookupAll(name)
      .then((addresses) => {
        if (addresses.length > 0) this.keep(name, addresses);
        return addresses;
      })
      .finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, started);
    return started;
  }

  private keep(name: string, addresses: string[]) {
    this.answers.delete(name);
    this.answers.set(name, { addresses, expiresAt: this.now() + ANSWER_TTL_MS });
    while (this.answers.size > ANSWERS_KEPT) {
      const oldest = this.answers.keys().next().value as string;
      this.answers.delete(oldest);
    }
  }
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("DNS timeout")), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
