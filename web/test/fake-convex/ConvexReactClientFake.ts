/**
 * A stand-in for ConvexReactClient in component and browser tests, after the pattern of
 * get-convex/convex-helpers `src/fakeConvexClient/`: `watchQuery`, `mutation`, `action`,
 * `connectionState` and auth, with one addition the original lacks: `setQuery` pushes a new
 * result to every watcher, the way a live Convex subscription does, so a test can change the
 * data under a mounted page and see it re-render without a reload.
 */
import { getFunctionName, type FunctionReference } from "convex/server";

type Handler = (args: Record<string, unknown>) => unknown;
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
