/**
 * How the dev server's state reads on screen: its health as the agent's periodic check last
 * found it, and the agent's report when it stopped after `ready` (why, in words, then the last
 * lines it printed: host-agent/src/watch/crash-report.ts writes it as "<what happened>\nLast
 * output:\n<lines>"). Pure, so it is easy to test; leaves out where and when it is shown.
 */
import type { Doc } from "@convex/_generated/dataModel";
import type { Tone } from "./statuses";

type Health = NonNullable<Doc<"containers">["health"]>;
type DownReason = NonNullable<Doc<"containers">["downReason"]>;

export const HEALTH_LOOK: Record<Health, { label: string; tone: Tone; title: string }> = {
  answering: { label: "Answering", tone: "success", title: "The dev server answered the host's last check" },
  "not answering": {
    label: "Not answering",
    tone: "danger",
    title: "The dev server did not answer the host's last check on its port",
  },
  none: { label: "Not checked", tone: "muted", title: "The host has not checked this dev server" },
};

/** Whether a health badge means anything for this status: only a container that should serve. */
export const showsHealth = (
  env: Pick<Doc<"containers">, "status" | "health">,
): env is typeof env & { health: Health } =>
  env.health !== undefined && env.health !== "none" && env.status === "ready";

export const DOWN_REASON_LABEL: Record<DownReason, string> = {
  oom: "Out of memory",
  exited: "Dev server exited",
  "container-died": "Container stopped",
  "needs-relaunch": "Restarting with its settings",
};

const LAST_OUTPUT = "\nLast output:\n";

/** The report split for reading: what happened, and the dev server's last lines (maybe none). */
export function downReport(error: string): { summary: string; lastLines: string[] } {
  const at = error.indexOf(LAST_OUTPUT);
  if (at < 0) return { summary: error.trim(), lastLines: [] };
  const lastLines = error
    .slice(at + LAST_OUTPUT.length)
    .split("\n")
    .map((l) => l.replace(/^\[dev\] /, ""));
  while (lastLines.length > 0 && lastLines.at(-1)!.trim() === "") lastLines.pop();
  return { summary: error.slice(0, at).trim(), lastLines };
}
