/**
 * A setup's progress as the control plane sees it: phase callbacks with a sequence and the
 * previous phase's duration, and an in-progress marker under DATA_DIR/setups, so an agent
 * restarted mid-setup reports that setup as interrupted instead of leaving it silently in a
 * middle phase. The marker holds where to report (URL and callback secret), never a token.
 * Below both setup/ and watch/ (each reports through it), so it names neither.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { SetupPhase, type SetupCallback } from "../api/contract.js";
import { SETUP_MARKER_MAX_BYTES } from "../config.js";
import { readSmallFile } from "../lib/bounded-reader.js";
import type { Logger } from "../lib/logger.js";
import type { CallbackOutbox } from "./callbacks.js";

type Phase = z.infer<typeof SetupPhase>;
/** Where a setup's callbacks go and which repo and branch they name (a setup request has these). */
export type ReportTo = { callbackUrl: string; callbackSecret: string; repo: string; branch: string };
export type Report = (phase: Phase, extra?: Partial<SetupCallback>) => Promise<void>;
/** Told how long each phase took that ended in the next one, not in `error` (metrics). */
export type PhaseTimer = (phase: Phase, ms: number) => void;

const Marker = z.object({
  callbackUrl: z.string(),
  callbackSecret: z.string(),
  repo: z.string(),
  branch: z.string(),
  phase: SetupPhase,
});

let lastSequence = 0;
/** Strictly increasing across setups and agent restarts (wall clock in µs, bumped on ties). */
export function nextSequence(): number {
  lastSequence = Math.max(lastSequence + 1, Date.now() * 1000);
  return lastSequence;
}

export class SetupProgress {
  private readonly dir: string;

  constructor(
    dataDir: string,
    private readonly outbox: CallbackOutbox,
    private readonly logger: Logger,
    private readonly phaseDone: PhaseTimer = () => {},
  ) {
    this.dir = path.join(dataDir, "setups");
  }

  /** A reporter for one setup: sends each phase and keeps the restart marker current. */
  reporter(id: string, req: ReportTo): Report {
    let phaseStarted: number | null = null;
    let current: Phase | null = null;
    const marker = path.join(this.dir, `${id}.json`);
    return async (phase, extra = {}) => {
      const now = Date.now();
      const payload: SetupCallback = {
        containerId: id,
        phase,
        sequence: nextSequence(),
        at: now,
        previousPhaseMs: phaseStarted === null ? null : now - phaseStarted,
        repo: req.repo,
        branch: req.branch,
        ...extra,
      };
      if (current !== null && payload.previousPhaseMs !== null && phase !== "error" && current !== phase)
        this.phaseDone(current, payload.previousPhaseMs);
      phaseStarted = now;
      current = phase;
      const last = phase === "ready" || phase === "error";
      if (!last) {
        const m = {
          callbackUrl: req.callbackUrl,
          callbackSecret: req.callbackSecret,
          repo: req.repo,
          branch: req.branch,
        };
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        await writeFile(marker, JSON.stringify({ ...m, phase }), { mode: 0o600 });
      }
      this.logger.info({ id, phase, previousPhaseMs: payload.previousPhaseMs }, "setup phase");
      await this.outbox.send(req.callbackUrl, req.callbackSecret, payload);
      // Only once the last word is on disk (send persists it before returning): an agent that
      // dies in between still finds the marker and reports the setup interrupted, never nothing.
      if (last) await rm(marker, { force: true });
    };
  }

  /** Reports setups a previous run of the agent left unfinished as errors. */
  async reportInterrupted(): Promise<number> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const files = (await readdir(this.dir)).filter((f) => f.endsWith(".json"));
    for (const file of files) {
      const id = file.replace(/\.json$/, "");
      try {
        const bytes = await readSmallFile(path.join(this.dir, file), SETUP_MARKER_MAX_BYTES);
        if (!bytes) throw new Error(`not a file of at most ${SETUP_MARKER_MAX_BYTES} bytes`);
        const m = Marker.parse(JSON.parse(bytes.toString("utf8")));
        await this.outbox.send(m.callbackUrl, m.callbackSecret, {
          containerId: id,
          phase: "error",
          sequence: nextSequence(),
          at: Date.now(),
          previousPhaseMs: null,
          repo: m.repo,
          branch: m.branch,
          error: `Setup was interrupted during "${m.phase}" because the host agent restarted. Request the environment again.`,
        });
      } catch (err) {
        this.logger.warn({ err, file }, "unreadable setup marker");
      }
      await rm(path.join(this.dir, file), { force: true });
    }
    return files.length;
  }
}
