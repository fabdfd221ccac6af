/**
 * The redeploy the agent refused, kept on the record (`redeployRefused`): its words and the
 * files a new commit would overwrite, with "Redeploy anyway" (force: the files the new commits
 * change take the branch's version, and local changes to them are lost) behind a dialog that
 * names them. A refusal without files (the host could not compare, or could not begin) says
 * why and offers the plain redeploy again too. Shown only while the environment is ready:
 * only then can it be redeployed.
 */
import { api } from "@convex/_generated/api";
import { useMutation } from "convex/react";
import { useState } from "react";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import type { Environment } from "../../lib/environments";

export function RedeployRefused({ env, name }: { env: Environment; name: string }) {
  const redeploy = useMutation(api.containers.redeploy);
  const [open, setOpen] = useState<"force" | "again" | null>(null);
  const refused = env.redeployRefused;
  if (!refused || env.status !== "ready") return null;
  const files = refused.files;
  const branch = <span className="mono">{env.branch ?? "the branch"}</span>;
  return (
    <div className="alert alert-warning redeploy-refused" role="alert" aria-label="Redeploy refused">
      <p>
        <strong>Redeploy refused; nothing was changed.</strong>{" "}
        {files.length > 0
          ? "The branch's new commits change files that were also changed here and not committed:"
          : refused.message}
      </p>
      {files.length > 0 && <FileList files={files} label="Files changed here and in the new commits" />}
      <div className="alert-actions">
        <button className="btn btn-danger" onClick={() => setOpen("force")}>
          Redeploy anyway
        </button>
        {files.length === 0 && (
          <button className="btn" onClick={() => setOpen("again")}>
            Try again
          </button>
        )}
      </div>
      <ConfirmDialog
        open={open === "force"}
        title={`Redeploy ${name} anyway?`}
        confirmLabel="Redeploy anyway"
        tone="danger"
        onConfirm={() => redeploy({ containerId: env._id, force: true })}
        onClose={() => setOpen(null)}
      >
        {files.length > 0 ? (
          <>
            <p>These files take their version on {branch}, and what was changed in them here is lost:</p>
            <FileList files={files} />
          </>
        ) : (
          <p>
            The files the new commits of {branch} change take the branch's version, even where they were changed here;
            those changes are lost.
          </p>
        )}
        <p>Other uncommitted work is kept. Dependencies are installed again if the lockfile changed.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={open === "again"}
        title={`Redeploy ${name}?`}
        confirmLabel="Redeploy"
        onConfirm={() => redeploy({ containerId: env._id })}
        onClose={() => setOpen(null)}
      >
        <p>Asks the host again to pull the new commits of {branch}, keeping uncommitted work.</p>
      </ConfirmDialog>
    </div>
  );
}

function FileList({ files, label }: { files: string[]; label?: string }) {
  return (
    <ul className="file-list mono" aria-label={label}>
      {files.map((f) => (
        <li key={f}>{f}</li>
      ))}
    </ul>
  );
}
