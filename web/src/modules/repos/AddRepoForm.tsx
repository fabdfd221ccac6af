/** Adds a repository by its GitHub name (the control plane checks the name and creates it). */
import { api } from "@convex/_generated/api";
import { useMutation } from "convex/react";
import { useState, type FormEvent } from "react";
import { FormError } from "../../components/FormError";
import { usePendingAction } from "../../hooks/usePendingAction";

export function AddRepoForm({ onDone }: { onDone: () => void }) {
  const setRuntime = useMutation(api.repos.setRuntime);
  const [fullName, setFullName] = useState("");
  const [defaultBranch, setDefaultBranch] = useState("main");
  const { run, busy, error, setError } = usePendingAction(setRuntime);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const [owner, name, ...rest] = fullName.trim().split("/");
    if (!owner || !name || rest.length > 0) {
      setError("Write the repository as owner/name, e.g. acme/shop.");
      return;
    }
    if (await run({ owner, name, defaultBranch: defaultBranch.trim() || "main", runtime: "docker" })) onDone();
  };

  return (
    <form className="card add-repo" onSubmit={(e) => void submit(e)}>
      <div className="form-row">
        <label className="field grow">
          <span>Repository</span>
          <input
            value={fullName}
            onChange={(e) => setFullName(e.target.value)}
            placeholder="owner/name"
            required
            autoFocus
          />
        </label>
        <label className="field">
          <span>Default branch</span>
          <input value={defaultBranch} onChange={(e) => setDefaultBranch(e.target.value)} />
        </label>
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? "Adding…" : "Add on Docker"}
        </button>
        <button className="btn" type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
      <FormError message={error} small />
    </form>
  );
}
