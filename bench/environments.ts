/**
 * Setups the benchmarks measure, through one agent: cold (a repo no setup has seen), warm (from a
 * repo's main image, same lockfile), and a set-up environment kept for what comes after (the
 * lifecycle bench). Each measured environment is removed as soon as it is measured unless kept,
 * so no idle dev server (file watchers, compilers) takes CPU from the next; repos and their
 * artifacts (dependency volume, main image) are removed by `cleanup`. It times nothing itself:
 * setup-run.ts does, from the callbacks.
 */
import type { Receiver } from "../host-agent/test/helpers/callback-receiver.js";
import { removeRepoArtifacts } from "../host-agent/test/helpers/docker.js";
import {
  agentRequest,
  createEnvironment,
  setupAndTime,
  type AgentApi,
  type SetupOutcome,
} from "../host-agent/test/frameworks/setup-run.js";

/** How long to wait for a main image build reported after `ready`. */
const MAIN_IMAGE_WAIT_MS = 600_000;

/** A kind of repo to set up: a corpus fixture, or the offline baseline. */
export type Kind = { label: string; makeRepo: (repo: string) => Promise<void> };

export class SetupBench {
  private repos: string[] = [];
  private count = 0;
  private readonly stamp = Date.now();
  constructor(
    readonly api: AgentApi,
    readonly receiver: Receiver,
    private readonly prefix: string,
  ) {}

  private async env(label: string) {
    return (await createEnvironment(this.api, `${this.prefix}-${label}-${this.count++}`)).id;
  }

  async remove(id: string) {
    await agentRequest(this.api, "DELETE", `/api/containers/${id}`).catch(() => undefined);
  }

  /** A new repo of `kind`, removed with its artifacts by `cleanup`. */
  async newRepo(kind: Kind, what: string) {
    const repo = `bench/${kind.label}-${what}${this.count++}-${this.stamp}`;
    this.repos.push(repo);
    await kind.makeRepo(repo);
    return repo;
  }

  /** A setup of `repo` in a new environment, which is kept: the caller removes it. */
  async setUp(kind: Kind, repo: string, extra: Record<string, unknown> = {}) {
    const id = await this.env(kind.label);
    return { id, outcome: await setupAndTime(this.api, this.receiver, id, repo, extra) };
  }

  /** A cold setup: a repo no setup has seen (no cache, no dependency volume, no main image). */
  async cold(kind: Kind): Promise<SetupOutcome> {
    const { id, outcome } = await this.setUp(kind, await this.newRepo(kind, "cold"));
    await this.remove(id);
    return outcome;
  }

  /** A repo whose main image is built, for warm setups; null when its setup fails. */
  async warmRepo(kind: Kind): Promise<string | null> {
    const repo = await this.newRepo(kind, "warm");
    const { id, outcome } = await this.setUp(kind, repo, { buildMainImage: true });
    try {
      if (!outcome.ok) return null;
      await this.receiver.waitFor(
        (rs) => rs.some((r) => r.body.containerId === id && r.body.mainImage),
        MAIN_IMAGE_WAIT_MS,
      );
      return repo;
    } finally {
      await this.remove(id);
    }
  }

  /** A warm setup: from the repo's main image, same lockfile. */
  async warm(kind: Kind, repo: string): Promise<SetupOutcome> {
    const { id, outcome } = await this.setUp(kind, repo, { hasMainImage: true });
    await this.remove(id);
    return outcome;
  }

  async cleanup() {
    for (const repo of this.repos.splice(0)) await removeRepoArtifacts(repo);
  }
}

export const say = (label: string, what: string, r: SetupOutcome) =>
  console.log(`${label} ${what}: ${r.ok ? `${Math.round(r.totalMs)} ms` : `error: ${r.error?.split("\n")[0]}`}`);
