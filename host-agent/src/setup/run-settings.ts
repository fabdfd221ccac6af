/**
 * What bringing a dev server back needs beyond the last setup's facts (run-marker.ts) when no
 * request carries it: the engine started the container again by itself (come-back.ts), or a
 * restart came without a body. Kept in three places, by what each part is:
 *
 * - The repo's variable values (they may be secrets: DATABASE_URL and the like) live in the
 *   agent's memory only (`RunSecrets`), never on a disk: not in DATA_DIR, not in the container's
 *   volume (the product never stores a secret). Bounded (RUN_SECRETS_MAX_ENTRIES containers),
 *   set at every `ready`, cleared when the container is forgotten. An agent that restarted since
 *   has none: a container with variables then cannot be brought back by the agent alone, and the
 *   control plane, which holds them encrypted, is asked to restart it (relaunch.ts).
 * - The dev command and the variables' names, none of them secret, live in the environment
 *   itself, in its workspace volume at RUN_SETTINGS_PATH (inside /app/.git, so no `git status`
 *   shows it, and outside the main image's context, which is node_modules alone). The names say
 *   whether values are missing. Written by the container's user, mode 0600, at every `ready`;
 *   read back as hostile input: at most RUN_SETTINGS_MAX_BYTES, within SHORT_EXEC_TIMEOUT_MS,
 *   parsed with zod. Whatever the environment puts there only runs as its own user in itself, as
 *   its own code does; a name it adds at most makes the agent ask the control plane. A file that
 *   is gone (a `rm -rf .git`) means the dev server cannot come back by itself: a start or restart
 *   with a body can. (Kept there rather than in the run marker, which holds the repo's facts
 *   only and is rewritten by setups alone: the file already existed, only its fields changed.)
 * - Where to report and when the dev server was brought up (the callback URL and secret, which
 *   no container may see, and the container's StartedAt then): DATA_DIR/comeback/<id>.json, mode
 *   0600 like the watch and setup markers. A container running with another StartedAt was
 *   started since by someone other than the agent.
 *
 * All are written by workspace-launch.ts's rememberSettings (setup, start, restart, redeploy, a
 * come-back) and the record is removed with the run marker (forgetRun), the values with it.
 */
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { ContainerId, EnvKey, SetupRequest } from "../api/contract.js";
import {
  COMEBACK_RECORD_MAX_BYTES,
  RUN_SECRETS_MAX_ENTRIES,
  RUN_SETTINGS_MAX_BYTES,
  SHORT_EXEC_TIMEOUT_MS,
  WORKSPACE_DIR,
} from "../config.js";
import type { DockerClient } from "../docker/client.js";
import { BoundedCollector, endWithin, readSmallFile } from "../lib/bounded-reader.js";
import { exitCode } from "./container-io.js";

export const RUN_SETTINGS_PATH = `${WORKSPACE_DIR}/.git/artie-run-settings.json`;

/** What a dev server runs with: the dev command and the repo's variables (values included). */
export const RunSettings = SetupRequest.pick({ envVars: true, devCommand: true });
export type RunSettings = z.output<typeof RunSettings>;

/** What the workspace keeps of them: the command and the variables' names, never a value. */
export const KeptSettings = z.object({
  devCommand: SetupRequest.shape.devCommand,
  envVarNames: z.array(EnvKey),
});
export type KeptSettings = z.output<typeof KeptSettings>;

/**
 * The repo's variables per container, in the agent's memory alone (the header says why). At most
 * RUN_SECRETS_MAX_ENTRIES containers: past it the longest-unset one is dropped (its environment
 * then comes back through the control plane, as after an agent restart).
 */
export class RunSecrets {
  private readonly values = new Map<string, Record<string, string>>();

  set(id: string, envVars: Record<string, string>): void {
    this.values.delete(id); // set again moves it to the newest end
    this.values.set(id, { ...envVars });
    while (this.values.size > RUN_SECRETS_MAX_ENTRIES) {
      const oldest = this.values.keys().next().value;
      if (oldest === undefined) break;
      this.values.delete(oldest);
    }
  }

  get(id: string): Record<string, string> | null {
    return this.values.get(id) ?? null;
  }

  forget(id: string): void {
    this.values.delete(id);
  }
}

/** Fixed script; the path arrives as $0. Written whole or not at all (a rename). */
const WRITE = 'umask 077 && cat > "$0.partial" && mv -f "$0.partial" "$0"';

/** Writes the kept settings (no value) into the container's workspace; throws when it cannot. */
export async function saveKeptSettings(
  docker: DockerClient,
  user: string,
  dockerId: string,
  settings: KeptSettings,
): Promise<void> {
  const { exec, stream } = await docker.exec(dockerId, {
    cmd: ["sh", "-c", WRITE, RUN_SETTINGS_PATH],
    user,
    tty: false,
    stdin: true,
  });
  const errors = new BoundedCollector(4096);
  docker.demux(stream, errors, errors);
  const ended = endWithin(stream, SHORT_EXEC_TIMEOUT_MS, "writing the run settings");
  stream.end(JSON.stringify(KeptSettings.parse(settings)));
  await ended;
  const code = await exitCode(exec);
  if (code !== 0) throw new Error(`writing the run settings failed: ${errors.text().trim().slice(-300)}`);
}

/** The kept settings the container holds, or null when there are none it can be trusted to mean. */
export async function readKeptSettings(
  docker: DockerClient,
  user: string,
  dockerId: string,
): Promise<KeptSettings | null> {
  const { stream } = await docker.exec(dockerId, {
    cmd: ["head", "-c", String(RUN_SETTINGS_MAX_BYTES + 1), RUN_SETTINGS_PATH],
    user,
    tty: false,
    stdin: false,
  });
  const out = new BoundedCollector(RUN_SETTINGS_MAX_BYTES + 1);
  const errors = new BoundedCollector(0);
  docker.demux(stream, out, errors);
  await endWithin(stream, SHORT_EXEC_TIMEOUT_MS, "reading the run settings");
  if (out.truncated) return null;
  const text = out.text();
  if (Buffer.byteLength(text) > RUN_SETTINGS_MAX_BYTES || text === "") return null;
  try {
    const parsed = KeptSettings.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

const ComebackRecord = z.object({
  callbackUrl: z.string().min(1),
  callbackSecret: z.string().min(1),
  /** The container's State.StartedAt when its dev server last answered. */
  startedAt: z.string().min(1),
});
export type ComebackRecord = z.infer<typeof ComebackRecord>;

const dirOf = (dataDir: string) => path.join(dataDir, "comeback");

function recordPath(dataDir: string, id: string): string {
  if (!ContainerId.safeParse(id).success) throw new Error(`"${id}" is not a container id`);
  return path.join(dirOf(dataDir), `${id}.json`);
}

export async function saveComebackRecord(dataDir: string, id: string, record: ComebackRecord): Promise<void> {
  const file = recordPath(dataDir, id);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, JSON.stringify(ComebackRecord.parse(record)), { mode: 0o600 });
  await rename(partial, file);
}

export async function readComebackRecord(dataDir: string, id: string): Promise<ComebackRecord | null> {
  const bytes = await readSmallFile(recordPath(dataDir, id), COMEBACK_RECORD_MAX_BYTES).catch(() => null);
  if (!bytes) return null;
  try {
    const parsed = ComebackRecord.safeParse(JSON.parse(bytes.toString("utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function forgetComebackRecord(dataDir: string, id: string): Promise<void> {
  await rm(recordPath(dataDir, id), { force: true });
}

/** Ids that have a come-back record. */
export async function listComebackRecords(dataDir: string): Promise<string[]> {
  const names = await readdir(dirOf(dataDir)).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith(".json"))
    .map((n) => n.slice(0, -".json".length))
    .filter((id) => ContainerId.safeParse(id).success);
}
