/** Adds a repository by its GitHub name (the control plane checks the name and creates it). */
import { api } from "@convex/_generated/api";
import { useMutation } from "convex/react";
import { useState, type FormEvent } from "react";
import { errorMessage } from "../../lib/errors";

export function AddRepoForm({ onDone }: { onDone: () => void }) {
  const setRuntime = useMutation(api.repos.setRuntime);
  const [fullName, setFullName] = useState("");
  const [defaultBranch, setDefaultBranch] = useState("main");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const [owner, name, ...rest] = fullName.trim().split("/");
    if (!owner || !name || rest.length > 0) {
      setError("Write the repository as owner/name, e.g. acme/shop.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await setRuntime({ owner, name, defaultBranch: defaultBranch.trim() || "main", runtime: "docker" });
      onDone();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
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
      {error && (
        <p className="form-error small" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
