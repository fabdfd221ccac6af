/**
 * The agent's Prometheus metrics (prom-client), in a registry of its own: never prom-client's
 * global default one, so nothing else in the process adds to what an agent exposes and tests
 * may run several agents side by side. server.ts makes one `Metrics` and hands each part to
 * what it counts: `http` to the request log (api/request-log.ts), `callbacks` to the outbox,
 * `setups` to the setup runner, `recordPrune` to the maintenance sweep; gauges of state held
 * elsewhere (containers by state, outbox depth, host ports, egress refusals) are read at scrape
 * time from the sources given to `readFrom`. Nothing here knows those modules beyond the small
 * observer shapes they declare.
 *
 * Every label has a bounded set of values: states, phases, results and prune kinds are closed
 * lists; routes are patterns and methods a fixed set (request-log.ts); no id, repo, branch or
 * path is ever a label value. Left out: prom-client's default Node process metrics (memory, GC,
 * event loop lag): the host's container metrics (cAdvisor, node_exporter) already see the
 * agent's CPU and memory, and the lag gauges read NaN until sampled.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { PRUNE_KINDS, type PruneReport } from "../api/contract.js";
import type { HttpObservation } from "../api/request-log.js";
import { METRICS_ENGINE_CACHE_MS, METRICS_ENGINE_TIMEOUT_MS } from "../config.js";
import { withTimeout } from "../lib/timeout.js";
import type { DeliveryResult, DropReason, OutboxObserver } from "../report/callbacks.js";
import type { SetupObserver, SetupOutcome } from "../setup/runner.js";

/** Docker's container states; anything else an engine reports (Podman has a few more) is `other`. */
export const CONTAINER_STATES = ["created", "running", "paused", "restarting", "removing", "exited", "dead"] as const;
const OTHER_STATE = "other";
const SETUP_OUTCOMES: readonly SetupOutcome[] = ["ready", "error", "interrupted"];
const DELIVERY_RESULTS: readonly DeliveryResult[] = ["delivered", "refused", "unreachable"];
const DROP_REASONS: readonly DropReason[] = ["expired", "replaced"];

/**
 * Seconds. Setup phases run from well under a second (a warm clone) to SETUP_INSTALL_TIMEOUT_MS
 * (15 min by default) for a cold install; API requests from milliseconds to an exec's minutes.
 */
const PHASE_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What the gauges read at scrape time; set once everything they read from exists. */
export type MetricsSources = {
  /** The engine's state of every managed container (one list call; cached and bounded here). */
  containerStates: () => Promise<string[]>;
  /** Callbacks waiting in the outbox, on disk and in memory. */
  outboxDepth: () => number;
  /** Host ports of PORT_RANGE held by containers. */
  portsInUse: () => number;
  portRange: { start: number; end: number };
  /** Requests the egress proxy refused since the agent started; null without isolation. */
  egressDenied: () => number | null;
};

export class Metrics {
  readonly registry = new Registry();
  private sources: MetricsSources | null = null;
  private engineRead: { at: number; states: Promise<string[] | null> } | null = null;

  private readonly httpRequests = new Counter({
    name: "artie_http_requests_total",
    help: "API requests answered, by method, route pattern and status code.",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: "artie_http_request_duration_seconds",
    help: "Time to answer an API request (for streams: until the response began), by method and route pattern.",
    labelNames: ["method", "route"] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  private readonly setupsTotal = new Counter({
    name: "artie_setups_total",
    help: "Setups ended, by outcome: ready, error, or interrupted (the agent restarted during one).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  private readonly phaseDuration = new Histogram({
    name: "artie_setup_phase_duration_seconds",
    help: 'Duration of setup phases that completed (cloning, installing, starting); a failed phase is counted in artie_setups_total{outcome="error"}.',
    labelNames: ["phase"] as const,
    buckets: PHASE_BUCKETS,
    registers: [this.registry],
  });
  private readonly deliveries = new Counter({
    name: "artie_callback_deliveries_total",
    help: "Callback delivery attempts, by result: delivered (2xx), refused (another status), unreachable (no answer).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: "artie_callback_retries_total",
    help: "Callback delivery attempts that were retries of an earlier failed attempt.",
    registers: [this.registry],
  });
  private readonly dropped = new Counter({
    name: "artie_callbacks_dropped_total",
    help: "Callbacks given up undelivered, by reason: expired (older than a day), replaced (by a newer phase while the receiver failed).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  private readonly pruneRuns = new Counter({
    name: "artie_prune_runs_total",
    help: "Prune sweeps run (dry runs not counted).",
    registers: [this.registry],
  });
  private readonly pruneRemoved = new Counter({
    name: "artie_prune_removed_total",
    help: "Items prune removed, by kind.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  private readonly pruneBytes = new Counter({
    name: "artie_prune_bytes_freed_total",
    help: "Bytes prune freed, as the engine and the disk report them.",
    registers: [this.registry],
  });
  private readonly pruneErrors = new Counter({
    name: "artie_prune_errors_total",
    help: "Items prune could not remove (in use by then, the engine refused), by kind.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  constructor() {
    // Every series of a closed label set exists from the start, at 0: a rate() over a counter
    // that appears only at its first increment misses that increment.
    for (const outcome of SETUP_OUTCOMES) this.setupsTotal.inc({ outcome }, 0);
    for (const result of DELIVERY_RESULTS) this.deliveries.inc({ result }, 0);
    for (const reason of DROP_REASONS) this.dropped.inc({ reason }, 0);
    for (const kind of PRUNE_KINDS) {
      this.pruneRemoved.inc({ kind }, 0);
      this.pruneErrors.inc({ kind }, 0);
    }
    this.collectedGauges();
  }

  /** Where the scrape-time gauges read from (server.ts, once those parts exist). */
  readFrom(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** The request log's hook: one answered request. */
  readonly http = (o: HttpObservation): void => {
    this.httpRequests.inc({ method: o.method, route: o.route, status: String(o.status) });
    this.httpDuration.observe({ method: o.method, route: o.route }, o.seconds);
  };

  /** The setup runner's hooks. */
  readonly setups: SetupObserver = {
    phaseDone: (phase, ms) => this.phaseDuration.observe({ phase }, ms / 1000),
    ended: (outcome, count = 1) => this.setupsTotal.inc({ outcome }, count),
  };

  /** The callback outbox's hooks. */
  readonly callbacks: OutboxObserver = {
    attempted: (result, retry) => {
      this.deliveries.inc({ result });
      if (retry) this.retries.inc();
    },
    dropped: (reason) => this.dropped.inc({ reason }),
  };

  /** One prune sweep's report (maintenance/); a dry run removed nothing and is not counted. */
  readonly recordPrune = (report: PruneReport): void => {
    if (report.dryRun) return;
    this.pruneRuns.inc();
    for (const item of report.removed) this.pruneRemoved.inc({ kind: item.kind });
    for (const error of report.errors) this.pruneErrors.inc({ kind: error.kind });
    this.pruneBytes.inc(report.bytesFreed);
  };

  /** The text exposition format (Prometheus 0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The engine's answer, at most one list call per METRICS_ENGINE_CACHE_MS; null when it did not answer. */
  private containerStates(): Promise<string[] | null> {
    const source = this.sources?.containerStates;
    if (!source) return Promise.resolve(null);
    const now = Date.now();
    if (this.engineRead && now - this.engineRead.at < METRICS_ENGINE_CACHE_MS) return this.engineRead.states;
    const states = withTimeout(source(), METRICS_ENGINE_TIMEOUT_MS, "listing containers for metrics").catch(() => null);
    this.engineRead = { at: now, states };
    return states;
  }

  /** Gauges whose value lives elsewhere, read when Prometheus scrapes. */
  private collectedGauges() {
    const read = () => this.sources;
    const states = () => this.containerStates();
    new Gauge({
      name: "artie_containers",
      help: "Managed containers by the engine's state (absent while the engine does not answer).",
      labelNames: ["state"] as const,
      registers: [this.registry],
      async collect() {
        const found = await states();
        this.reset();
        if (!found) return;
        const counts = new Map<string, number>([...CONTAINER_STATES, OTHER_STATE].map((s) => [s, 0]));
        for (const s of found) {
          const state = counts.has(s) ? s : OTHER_STATE;
          counts.set(state, counts.get(state)! + 1);
        }
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Gauge({
      name: "artie_docker_reachable",
      help: "1 when the engine answered the last list of containers within its timeout, else 0.",
      registers: [this.registry],
      async collect() {
        this.set((await states()) ? 1 : 0);
      },
    });
    new Gauge({
      name: "artie_callback_outbox_depth",
      help: "Callbacks waiting for delivery (persisted under DATA_DIR/callbacks).",
      registers: [this.registry],
      collect() {
        this.set(read()?.outboxDepth() ?? 0);
      },
    });
    new Gauge({
      name: "artie_host_ports_in_use",
      help: "Host ports of PORT_RANGE held by managed containers.",
      registers: [this.registry],
      collect() {
        this.set(read()?.portsInUse() ?? 0);
      },
    });
    new Gauge({
      name: "artie_host_ports_total",
      help: "Host ports in PORT_RANGE.",
      registers: [this.registry],
      collect() {
        const range = read()?.portRange;
        this.set(range ? range.end - range.start + 1 : 0);
      },
    });
    new Counter({
      name: "artie_egress_denied_total",
      help: "Requests from environments the egress proxy refused since the agent started (0 without isolation).",
      registers: [this.registry],
      collect() {
        const denied = read()?.egressDenied() ?? null;
        this.reset();
        if (denied !== null) this.inc(denied);
      },
    });
  }
}
