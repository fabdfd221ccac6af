/**
 * A stand-in for ConvexReactClient in component and browser tests, after the pattern of
 * get-convex/convex-helpers `src/fakeConvexClient/`: `watchQuery`, `mutation`, `action`,
 * `connectionState` and auth, with one addition the original lacks: `setQuery` pushes a new
 * result to every watcher, the way a live Convex subscription does, so a test can change the
 * data under a mounted page and see it re-render without a reload.
 *
 * With a backend (`setBackend`), whatever has no `setQuery` result or `on` handler runs there
 * instead: the browser tests put the real Convex functions behind it (convex-test in the test
 * process, see web/test/browser/helpers/convex-bridge.ts). Every watched query is asked again
 * after each mutation or action, and on `refresh()`, which is how a live subscription looks
 * from the page.
 */
import { getFunctionName, type FunctionReference } from "convex/server";

type Handler = (args: Record<string, unknown>) => unknown;
/** Runs a function on a real backend; rejects with the error the function threw. */
export type Backend = (
  kind: "query" | "mutation" | "action",
  name: string,
  args: Record<string, unknown>,
) => Promise<unknown>;
type Ref = FunctionReference<"query" | "mutation" | "action"> | string;
export type Call = { kind: "mutation" | "action"; name: string; args: Record<string, unknown> };

const connection = (isWebSocketConnected: boolean) => ({
  hasInflightRequests: false,
  isWebSocketConnected,
  timeOfOldestInflightRequest: null,
  hasEverConnected: true,
  connectionCount: 1,
  connectionRetries: 0,
  inflightMutations: 0,
  inflightActions: 0,
});
const CONNECTED = connection(true);
const DISCONNECTED = connection(false);

const nameOf = (ref: Ref) => (typeof ref === "string" ? ref : getFunctionName(ref));
const keyOf = (name: string, args: unknown) => `${name}:${JSON.stringify(args ?? {})}`;

export class ConvexReactClientFake {
  /** Read by Convex Auth's provider (storage namespace). */
  readonly address = "https://fake-deployment.convex.cloud";
  readonly calls: Call[] = [];
  private results = new Map<string, unknown>();
  private watchers = new Map<string, Set<() => void>>();
  private handlers = new Map<string, Handler>();
  private connected = true;
  private connectionListeners = new Set<() => void>();
  private backend: Backend | null = null;
  /** Queries the backend answers, by key: name and args, for asking again. */
  private backed = new Map<string, { name: string; args: Record<string, unknown> }>();

  /**
   * What a query returns: for any args, or only for `args`. `undefined` means still loading; an
   * Error is thrown to the component (as a failed query is).
   */
  setQuery(name: string, value: unknown, args?: Record<string, unknown>): void {
    this.results.set(args ? keyOf(name, args) : name, value);
    for (const [key, set] of this.watchers) {
      if (key === name || key.startsWith(`${name}:`)) set.forEach((cb) => cb());
    }
  }

  /** What a mutation or action does; unhandled ones resolve to null (and are still recorded). */
  on(name: string, handler: Handler): void {
    this.handlers.set(name, handler);
  }

  callsTo(name: string): Record<string, unknown>[] {
    return this.calls.filter((c) => c.name === name).map((c) => c.args);
  }

  /** Sends everything the test has not answered itself to `backend`. */
  setBackend(backend: Backend): void {
    this.backend = backend;
  }

  /** Asks the backend again for every watched query it answers, and pushes what changed. */
  async refresh(): Promise<void> {
    await Promise.all([...this.backed.values()].map(({ name, args }) => this.fetchQuery(name, args)));
  }

  private async fetchQuery(name: string, args: Record<string, unknown>): Promise<void> {
    const key = keyOf(name, args);
    let value: unknown;
    try {
      value = await this.backend!("query", name, args);
    } catch (err) {
      value = err instanceof Error ? err : new Error(String(err));
    }
    if (JSON.stringify(value) === JSON.stringify(this.results.get(key))) return;
    this.results.set(key, value);
    this.watchers.get(key)?.forEach((cb) => cb());
  }

  setConnected(connected: boolean): void {
    this.connected = connected;
    this.connectionListeners.forEach((cb) => cb());
  }

  watchQuery(ref: Ref, args?: Record<string, unknown>) {
    const name = nameOf(ref);
    const key = keyOf(name, args);
    return {
      localQueryResult: (): unknown => {
        const value = this.results.has(key) ? this.results.get(key) : this.results.get(name);
        if (value instanceof Error) throw value;
        return value;
      },
      onUpdate: (cb: () => void) => {
        const set = this.watchers.get(key) ?? new Set();
        set.add(cb);
        this.watchers.set(key, set);
        if (this.backend && !this.results.has(name) && !this.backed.has(key)) {
          this.backed.set(key, { name, args: args ?? {} });
          void this.fetchQuery(name, args ?? {});
        }
        return () => set.delete(cb);
      },
      journal: () => undefined,
    };
  }

  mutation(ref: Ref, args?: Record<string, unknown>): Promise<unknown> {
    return this.call("mutation", ref, args);
  }

  action(ref: Ref, args?: Record<string, unknown>): Promise<unknown> {
    return this.call("action", ref, args);
  }

  private call(kind: Call["kind"], ref: Ref, args: Record<string, unknown> = {}): Promise<unknown> {
    const name = nameOf(ref);
    this.calls.push({ kind, name, args });
    const handler = this.handlers.get(name);
    if (!handler && this.backend) {
      const done = this.backend(kind, name, args);
      // A failed call changes nothing, but a successful one may have changed any query.
      return done.finally(() => this.refresh());
    }
    // Asynchronous like the real client, and a handler that throws becomes a rejection.
    return Promise.resolve().then(() => (handler ? handler(args) : null));
  }

  setAuth(
    fetchToken: (o: { forceRefreshToken: boolean }) => Promise<string | null | undefined>,
    onChange?: (authed: boolean) => void,
  ) {
    void fetchToken({ forceRefreshToken: false }).then((token) => onChange?.(Boolean(token)));
  }

  clearAuth(): void {}

  connectionState() {
    // A stable object per state: the connection hook compares snapshots by identity.
    return this.connected ? CONNECTED : DISCONNECTED;
  }

  subscribeToConnectionState(cb: () => void): () => void {
    this.connectionListeners.add(cb);
    return () => this.connectionListeners.delete(cb);
  }

  async close(): Promise<void> {}
}
