/** Asks for an environment of one branch, then opens it. */
import { api } from "@convex/_generated/api";
import type { Doc } from "@convex/_generated/dataModel";
import { useMutation } from "convex/react";
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { errorMessage } from "../../lib/errors";

export function RequestEnvironmentForm({ repo }: { repo: Doc<"repos"> }) {
  const request = useMutation(api.containers.request);
  const navigate = useNavigate();
  const [branch, setBranch] = useState(repo.defaultBranch);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const onDocker = repo.runtime === "docker";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const id = await request({ repoId: repo._id, branch: branch.trim() });
      void navigate(`/environments/${id}`);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <form className="request-form" onSubmit={(e) => void submit(e)}>
      <div className="input-group">
        <span className="input-prefix" aria-hidden>
          ⎇
        </span>
        <input
          aria-label={`Branch of ${repo.owner}/${repo.name}`}
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
      {error && (
        <p className="form-error small" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
