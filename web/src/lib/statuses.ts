/**
 * How each status looks: a label and a colour tone. Keyed by the control plane's own status
 * type, so a status added there fails to compile here until it has a look.
 */
import type { Status } from "@convex/statuses";

export type Tone = "neutral" | "info" | "progress" | "success" | "danger" | "warning" | "muted";

export const STATUS_LOOK: Record<Status, { label: string; tone: Tone }> = {
  creating: { label: "Creating", tone: "info" },
  pooled: { label: "Pooled", tone: "neutral" },
  assigned: { label: "Assigned", tone: "info" },
  cloning: { label: "Cloning", tone: "progress" },
  installing: { label: "Installing", tone: "progress" },
  starting: { label: "Starting", tone: "progress" },
  ready: { label: "Ready", tone: "success" },
  stopped: { label: "Stopped", tone: "neutral" },
  error: { label: "Failed", tone: "danger" },
  destroying: { label: "Destroying", tone: "warning" },
  destroyed: { label: "Destroyed", tone: "muted" },
};

/** Statuses in which something is under way (the badge pulses). */
export const BUSY: ReadonlySet<Status> = new Set([
  "creating",
  "assigned",
  "cloning",
  "installing",
  "starting",
  "destroying",
]);
