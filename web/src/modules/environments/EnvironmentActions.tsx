/** Restart and destroy, each behind a dialog that says exactly what will happen. */
import { api } from "@convex/_generated/api";
import type { Doc } from "@convex/_generated/dataModel";
import { useMutation } from "convex/react";
import { useState } from "react";
import { ConfirmDialog } from "../../components/ConfirmDialog";

type Props = { env: Doc<"containers">; name: string };

export function EnvironmentActions({ env, name }: Props) {
  const restart = useMutation(api.containers.restart);
  const destroy = useMutation(api.containers.destroy);
  const [open, setOpen] = useState<"restart" | "destroy" | null>(null);
  const gone = env.status === "destroying" || env.status === "destroyed";
  const canRestart = env.status === "ready" || env.status === "error";
  const port = env.hostPort !== undefined ? ` and frees host port ${env.hostPort}` : "";

  return (
    <>
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
        open={open === "restart"}
        title={`Restart ${name}?`}
        confirmLabel="Restart container"
        onConfirm={() => restart({ containerId: env._id })}
        onClose={() => setOpen(null)}
      >
        <p>
          The container is stopped and started again. Every process in it ends, the dev server included, and open
          terminals disconnect. Files in the workspace and installed dependencies stay.
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
