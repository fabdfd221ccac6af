/**
 * Ending what an exec started. Docker has no "kill exec" call, and an exec's host PID is of no
 * use when the engine is remote. So every exec the agent may need to end carries a random tag in
 * its environment, which every process it starts inherits; ending it means stopping and killing
 * every process in the container whose environment holds the tag (a few rounds, to catch forks
 * made while scanning). The normal path costs nothing: no wrapper process, no extra exec. A
 * process that scrubs its own environment escapes; that is accepted, the container's pids limit
 * still bounds it.
 */
import { randomBytes } from "node:crypto";
import { SHORT_EXEC_TIMEOUT_MS } from "../config.js";
import type { DockerClient } from "../docker/client.js";
import { endWithin } from "../lib/bounded-reader.js";

const TAG_VARIABLE = "ARTIE_EXEC_TAG";

export const newExecTag = () => randomBytes(8).toString("hex");
export const tagEnv = (tag: string) => `${TAG_VARIABLE}=${tag}`;

/** Fixed script; the tag arrives as $0, never spliced into the text. */
const KILL_TAGGED = [
  `t="${TAG_VARIABLE}=$0"`,
  "for round in 1 2 3; do found=",
  'for e in /proc/[0-9]*/environ; do p=${e#/proc/}; p=${p%/environ}; [ "$p" = "$$" ] && continue',
  // environ is NUL-separated, and busybox grep stops at a NUL: split it into lines first.
  'tr "\\0" "\\n" < "$e" 2>/dev/null | grep -qxF "$t" && kill -STOP "$p" 2>/dev/null && found="$found $p"; done',
  '[ -n "$found" ] || break; kill -KILL $found 2>/dev/null; done',
].join("; ");

/** Kills every process started under `tag`; resolves when the kill script has finished. */
export async function killTagged(docker: DockerClient, dockerId: string, user: string, tag: string): Promise<void> {
  const { stream } = await docker.exec(dockerId, {
    cmd: ["sh", "-c", KILL_TAGGED, tag],
    user,
    tty: false,
    stdin: false,
  });
  stream.resume();
  await endWithin(stream, SHORT_EXEC_TIMEOUT_MS, "ending a command's processes");
}
