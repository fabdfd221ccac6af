/**
 * One stream of the Docker engine's events for the agent's own containers (label
 * `artie.managed=true`), handed to subscribers as small parsed records: the dev server watch
 * needs `oom`, `die`, `kill` and `exec_die`, `destroy` ends what the agent keeps per container, and
 * `start` tells the come-back (setup/come-back.ts) that the engine may have started one by itself.
 *
 * The stream is read as hostile input: split into lines of at most EVENT_LINE_MAX_BYTES (a longer
 * one is cut, fails to parse and is skipped), each parsed with zod. When the engine ends the
 * stream or cannot be reached, it is opened again after a backoff (EVENTS_RETRY_BASE_MS doubling
 * to EVENTS_RETRY_CAP_MS), from the time of the last event seen, so a short gap loses nothing; the
 * repeats that asks for (the last second again) are dropped by a bounded memory of recent events.
 * Subscribers are also told each time the stream is (re)connected, to check what they watch
 * against the engine: a gap while the engine itself was down has no events to replay.
 * It leaves out what any event means: that is the subscribers'.
 */
import { z } from "zod";
import { EVENT_LINE_MAX_BYTES, EVENTS_RETRY_BASE_MS, EVENTS_RETRY_CAP_MS, EVENTS_SEEN_MAX } from "../config.js";
import { LineCutter } from "../lib/bounded-reader.js";
import type { Logger } from "../lib/logger.js";
import { dockerMessage, type DockerClient } from "./client.js";
import { LABEL } from "./labels.js";

/** The actions followed; every other event of the agent's containers is not asked for. */
export const FOLLOWED_ACTIONS = ["oom", "die", "kill", "exec_die", "destroy", "start"] as const;
export type EngineAction = (typeof FOLLOWED_ACTIONS)[number];

/**
 * Podman's names for the same events (its Docker API, 4.3), where they differ from Docker's: its
 * filter matches its own names only (`died`, which it then reports as `die`), and it reports
 * `exec_died` and `remove` under those names. They are asked for too and read as Docker's; Docker
 * ignores a filter value it never logs. (Podman 4.3's `exec_died` names no exec: see README "Podman".)
 */
const PODMAN_ACTIONS: Record<string, EngineAction> = { died: "die", exec_died: "exec_die", remove: "destroy" };
const ASKED_ACTIONS = [...FOLLOWED_ACTIONS, ...Object.keys(PODMAN_ACTIONS)];

const RawEvent = z.object({
  Type: z.literal("container"),
  Action: z
    .string()
    .transform((a) => PODMAN_ACTIONS[a] ?? a)
    .pipe(z.enum(FOLLOWED_ACTIONS)),
  Actor: z.object({ ID: z.string().max(128), Attributes: z.record(z.string(), z.string()).default({}) }),
  time: z.number().int().nonnegative(),
  timeNano: z.number().nonnegative().optional(),
});

export type EngineEvent = {
  action: EngineAction;
  dockerId: string;
  /** The agent's id for the container (its `artie.id` label); null when it has none. */
  agentId: string | null;
  /** Set on `exec_die`: which exec ended. */
  execId: string | null;
  /** Set on `die` and `exec_die`. */
  exitCode: number | null;
  /** When the engine logged it, ms since the epoch by the engine's clock. */
  atMs: number;
};

type Closable = NodeJS.ReadableStream & { destroy?: () => void };
type Listener = { event: (e: EngineEvent) => void; connected?: () => void };

export class EngineEvents {
  private readonly listeners = new Set<Listener>();
  /** Keys of recent events, oldest first, to drop what a reconnect repeats. */
  private readonly seen = new Set<string>();
  private since: string | undefined;
  private stopped = true;
  private current: Closable | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly docker: DockerClient,
    private readonly logger: Logger,
  ) {}

  /** Calls `event` for each new event, `connected` after each (re)connect; answers an unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.follow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.destroy?.();
    this.wake?.();
    await this.loop;
  }

  private async follow(): Promise<void> {
    for (let failures = 0; !this.stopped;) {
      const opened = Date.now();
      // With no event seen yet, a reconnect resumes from the previous connect (the agent's clock).
      const since = this.since;
      try {
        const stream: Closable = await this.docker.events({ since, actions: ASKED_ACTIONS });
        this.since ??= String(Math.floor(opened / 1000));
        this.current = stream;
        if (this.stopped) {
          stream.destroy?.();
          break;
        }
        for (const l of this.listeners) l.connected?.();
        await this.read(stream);
        this.logger.warn("docker event stream ended; reconnecting");
      } catch (err) {
        if (this.stopped) break;
        this.logger.warn({ err: dockerMessage(err) }, "docker event stream failed; reconnecting");
      } finally {
        this.current = null;
      }
      // A stream that lived a while was healthy: start the backoff over.
      failures = Date.now() - opened > EVENTS_RETRY_CAP_MS ? 0 : failures + 1;
      const delay = Math.min(EVENTS_RETRY_CAP_MS, EVENTS_RETRY_BASE_MS * 2 ** (failures - 1));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Resolves when the stream ends or closes, rejects when it fails. */
  private read(stream: NodeJS.ReadableStream): Promise<void> {
    const cutter = new LineCutter(EVENT_LINE_MAX_BYTES, (line) => this.handle(line));
    return new Promise((resolve, reject) => {
      stream.on("data", (chunk: Buffer) => cutter.push(chunk));
      stream.once("end", () => resolve());
      stream.once("close", () => resolve());
      stream.once("error", (err: Error) => reject(err));
    });
  }

  private handle(line: string) {
    if (!line.trim()) return;
    let raw: z.infer<typeof RawEvent>;
    try {
      raw = RawEvent.parse(JSON.parse(line));
    } catch {
      this.logger.debug({ bytes: line.length }, "skipping an event that does not parse");
      return;
    }
    const a = raw.Actor.Attributes;
    const key = `${raw.Action}|${raw.Actor.ID}|${raw.timeNano ?? raw.time}|${a.execID ?? ""}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.seen.size > EVENTS_SEEN_MAX) this.seen.delete(this.seen.values().next().value!);
    this.since = String(raw.time);
    const code = a.exitCode === undefined ? NaN : Number(a.exitCode);
    const event: EngineEvent = {
      action: raw.Action,
      dockerId: raw.Actor.ID,
      agentId: a[LABEL.id] ?? null,
      execId: a.execID ?? null,
      exitCode: Number.isInteger(code) ? code : null,
      atMs: raw.timeNano !== undefined ? Math.floor(raw.timeNano / 1e6) : raw.time * 1000,
    };
    for (const l of this.listeners) {
      try {
        l.event(event);
      } catch (err) {
        this.logger.error({ err, action: event.action }, "event subscriber failed");
      }
    }
  }
}
