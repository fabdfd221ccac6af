/** Asks for an environment of one branch, then opens it. */
import { api } from "@convex/_generated/api";
import type { Doc } from "@convex/_generated/dataModel";
import { useMutation } from "convex/react";
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { FormError } from "../../components/FormError";
import { usePendingAction } from "../../hooks/usePendingAction";
import { repoFullName } from "../../lib/repos";

export function RequestEnvironmentForm({ repo }: { repo: Doc<"repos"> }) {
  const request = useMutation(api.containers.request);
  const navigate = useNavigate();
  const [branch, setBranch] = useState(repo.defaultBranch);
  const { run, busy, error } = usePendingAction(async (branchName: string) => {
    const id = await request({ repoId: repo._id, branch: branchName });
    void navigate(`/environments/${id}`);
  });
  const onDocker = repo.runtime === "docker";

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(branch.trim());
  };

  return (
    <form className="request-form" onSubmit={submit}>
      <div className="input-group">
        <span className="input-prefix" aria-hidden>
          ⎇
        </span>
        <input
          aria-label={`Branch of ${repoFullName(repo)}`}
          value={branch}
          onChange={(e) => setBranch(e.target.value)}
          required
          disabled={!onDocker}
        />
        <button className="btn btn-primary" type="submit" disabled={!onDocker || busy || branch.trim() === ""}>
          {busy ? "Requesting…" : "Request environment"}
        </button>
      </div>
      {!onDocker && <p className="hint">Switch the runtime to Docker to request environments here.</p>}
      <FormError message={error} small />
    </form>
  );
}
