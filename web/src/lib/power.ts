/**
 * What the Stop / Start button says and does in each status: Stop for a running environment,
 * Start for a stopped one, and for the statuses in between a disabled button that says what is
 * under way. Keyed by the control plane's status type (a new status fails to compile until it
 * has a look), and matching what containers.stop / containers.start accept.
 */
import type { Status } from "@convex/statuses";

type PowerLook = { action: "stop" | "start" | null; label: string; title: string };

const STOP = "Stops the container: its memory and CPU are freed, its workspace and uncommitted changes kept.";
const SETTING_UP: PowerLook = { action: null, label: "Setting up…", title: "It can be stopped once it is set up" };

export const POWER_LOOK: Record<Status, PowerLook> = {
  creating: SETTING_UP,
  pooled: { action: null, label: "Stop", title: "A pooled container is not an environment yet" },
  assigned: SETTING_UP,
  cloning: SETTING_UP,
  installing: SETTING_UP,
  starting: { action: null, label: "Starting…", title: "The dev server is starting" },
  ready: { action: "stop", label: "Stop", title: STOP },
  stopped: {
    action: "start",
    label: "Start",
    title: "Starts the container again with its workspace, and brings the dev server back.",
  },
  error: { action: "stop", label: "Stop", title: STOP },
  destroying: { action: null, label: "Destroying…", title: "The environment is being removed" },
  destroyed: { action: null, label: "Stop", title: "The environment is gone" },
};
