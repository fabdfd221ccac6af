/**
 * Stop / Start, Redeploy, Restart and Destroy for one environment. Redeploy, Restart and
 * Destroy each wait behind a dialog that says exactly what will happen; Stop keeps everything
 * (it is undone by Start), so it asks nothing. A request the host answers later says so on its
 * button ("Stopping…", "Redeploying…") until the record moves. The redeploy the agent refused
 * is offered again with force by RedeployRefused, on the page.
 */
import { api } from "@convex/_generated/api";
import { useMutation } from "convex/react";
import { useState } from "react";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { FormError } from "../../components/FormError";
import { useAwaitingHost } from "../../hooks/useAwaitingHost";
import { usePendingAction } from "../../hooks/usePendingAction";
import type { Environment } from "../../lib/environments";
import { POWER_LOOK } from "../../lib/power";

type Props = { env: Environment; name: string };

export function EnvironmentActions({ env, name }: Props) {
  const restart = useMutation(api.containers.restart);
  const redeploy = useMutation(api.containers.redeploy);
  const destroy = useMutation(api.containers.destroy);
  const [open, setOpen] = useState<"restart" | "redeploy" | "destroy" | null>(null);
  // The record shows the agent's answer to a redeploy: its phases, or a new refusal.
  const redeploying = useAwaitingHost(`${env.status}|${env.redeployRefused?.at ?? ""}`);
  const gone = env.status === "destroying" || env.status === "destroyed";
  const canRestart = env.status === "ready" || env.status === "error";
  const canRedeploy = env.status === "ready" && !redeploying.waiting;
  const port = env.hostPort !== undefined ? ` and frees host port ${env.hostPort}` : "";

  return (
    <>
      <PowerButton env={env} />
      <button
        className="btn"
        disabled={!canRedeploy}
        onClick={() => setOpen("redeploy")}
        title={canRedeploy ? undefined : "Only a ready environment can be redeployed"}
      >
        {redeploying.waiting ? "Redeploying…" : "Redeploy"}
      </button>
      <button
        className="btn"
        disabled={!canRestart}
        onClick={() => setOpen("restart")}
        title={canRestart ? undefined : "Only a ready or failed environment can be restarted"}
      >
        Restart
      </button>
      <button className="btn btn-danger" disabled={gone} onClick={() => setOpen("destroy")}>
        Destroy
      </button>
      <ConfirmDialog
        open={open === "redeploy"}
        title={`Redeploy ${name}?`}
        confirmLabel="Redeploy"
        onConfirm={async () => {
          await redeploy({ containerId: env._id });
          redeploying.markSent();
        }}
        onClose={() => setOpen(null)}
      >
        <p>
          Pulls the new commits of <span className="mono">{env.branch ?? "its branch"}</span> into the workspace,
          keeping uncommitted work; installs dependencies again only if the lockfile changed, then restarts the dev
          server.
        </p>
        <p className="muted">
          If a new commit changes a file you changed here too, nothing is touched: you are shown the files and can
          redeploy anyway.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={open === "restart"}
        title={`Restart ${name}?`}
        confirmLabel="Restart container"
        onConfirm={() => restart({ containerId: env._id })}
        onClose={() => setOpen(null)}
      >
        <p>
          The container is stopped and started again: every process in it ends and open terminals disconnect, then the
          dev server is started again with the same command and variables.
        </p>
        <p>
          The workspace (<span className="mono">/app</span>) is kept, uncommitted changes included, and so are the
          installed dependencies.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={open === "destroy"}
        title={`Destroy ${name}?`}
        confirmLabel="Destroy environment"
        tone="danger"
        onConfirm={() => destroy({ containerId: env._id })}
        onClose={() => setOpen(null)}
      >
        <p>
          This removes the container and its workspace{port}. Changes not pushed from the environment are lost. This
          cannot be undone.
        </p>
      </ConfirmDialog>
    </>
  );
}

/**
 * Stop for a running environment, Start for a stopped one; while one is on its way, the button
 * says so and waits. Stop frees the container's memory and CPU and keeps its workspace.
 */
function PowerButton({ env }: { env: Environment }) {
  const stop = useMutation(api.containers.stop);
  const start = useMutation(api.containers.start);
  // A stop is answered by the agent (the record says `stopped` then); a start moves at once.
  const stopping = useAwaitingHost(env.status);
  const look = POWER_LOOK[env.status];
  const action = usePendingAction(async () => {
    if (look.action === "stop") {
      await stop({ containerId: env._id });
      stopping.markSent();
    } else if (look.action === "start") await start({ containerId: env._id });
  });
  const waiting = stopping.waiting || action.busy;
  const label = waiting ? (look.action === "start" ? "Starting…" : "Stopping…") : look.label;
  return (
    <>
      <button
        className="btn"
        disabled={look.action === null || waiting}
        title={look.title}
        onClick={() => void action.run()}
      >
        {label}
      </button>
      {action.error && <FormError message={action.error} />}
    </>
  );
}
