/**
 * A repo's environment variables as a list a person edits: stored ones by name with "set" (the
 * browser never has their values), each replaceable or removable until saved; new ones with a
 * name and a masked value. Controlled: the settings form owns the rows and checks them.
 */
import type { EnvVarInput } from "@convex/settingsRules";

/** One row: `value` undefined keeps a stored value; a string sets or replaces it. */
export type EnvVarRow = { key: number; name: string; stored: boolean; value?: string; removed?: boolean };

/** The rows as the settings input lists them (removed ones left out), with each entry's row. */
export function envVarsInput(rows: EnvVarRow[]): { envVars: EnvVarInput[]; keys: number[] } {
  const live = rows.filter((r) => !r.removed);
  return {
    envVars: live.map(({ name, value }) => (value === undefined ? { name } : { name, value })),
    keys: live.map((r) => r.key),
  };
}

type Props = {
  rows: EnvVarRow[];
  onChange: (rows: EnvVarRow[]) => void;
  problemOf: (key: number) => string | undefined;
  disabled: boolean;
};

export function EnvVarsEditor({ rows, onChange, problemOf, disabled }: Props) {
  const update = (key: number, patch: Partial<EnvVarRow>) =>
    onChange(rows.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const drop = (key: number) => onChange(rows.filter((r) => r.key !== key));
  const add = () =>
    onChange([...rows, { key: Math.max(0, ...rows.map((r) => r.key)) + 1, name: "", stored: false, value: "" }]);

  return (
    <fieldset className="env-vars" disabled={disabled}>
      <legend>Environment variables</legend>
      <p className="hint">
        Values are secrets: encrypted when saved and never shown again. The dev server and the install get them.
      </p>
      {rows.length === 0 && <p className="muted">No variables.</p>}
      <ul>
        {rows.map((row) => {
          const problem = problemOf(row.key);
          return (
            <li key={row.key} className={problem ? "env-var invalid" : "env-var"} data-testid={`env-var-${row.key}`}>
              {row.stored ? <StoredRow row={row} update={update} /> : <NewRow row={row} update={update} drop={drop} />}
              {problem && <small className="field-error">{problem}</small>}
            </li>
          );
        })}
      </ul>
      <button type="button" className="btn btn-small" onClick={add}>
        Add variable
      </button>
    </fieldset>
  );
}

type RowProps = { row: EnvVarRow; update: (key: number, patch: Partial<EnvVarRow>) => void };

function StoredRow({ row, update }: RowProps) {
  if (row.removed) {
    return (
      <div className="env-var-line">
        <code className="env-var-name removed">{row.name}</code>
        <span className="muted">removed when you save</span>
        <button type="button" className="btn btn-small btn-ghost" onClick={() => update(row.key, { removed: false })}>
          Undo
        </button>
      </div>
    );
  }
  const replacing = row.value !== undefined;
  return (
    <div className="env-var-line">
      <code className="env-var-name">{row.name}</code>
      {replacing ? (
        <input
          type="password"
          autoComplete="new-password"
          aria-label={`New value of ${row.name}`}
          placeholder="new value"
          value={row.value}
          onChange={(e) => update(row.key, { value: e.target.value })}
        />
      ) : (
        <span className="badge badge-success">set</span>
      )}
      <button
        type="button"
        className="btn btn-small"
        aria-label={replacing ? `Keep the saved value of ${row.name}` : `Replace ${row.name}`}
        onClick={() => update(row.key, { value: replacing ? undefined : "" })}
      >
        {replacing ? "Keep saved value" : "Replace"}
      </button>
      <button
        type="button"
        className="btn btn-small btn-danger"
        aria-label={`Remove ${row.name}`}
        onClick={() => update(row.key, { removed: true, value: undefined })}
      >
        Remove
      </button>
    </div>
  );
}

function NewRow({ row, update, drop }: RowProps & { drop: (key: number) => void }) {
  return (
    <div className="env-var-line">
      <input
        className="env-var-name-input"
        aria-label="Variable name"
        placeholder="NAME"
        spellCheck={false}
        value={row.name}
        onChange={(e) => update(row.key, { name: e.target.value })}
      />
      <input
        type="password"
        autoComplete="new-password"
        aria-label={row.name ? `Value of ${row.name}` : "Variable value"}
        placeholder="value"
        value={row.value ?? ""}
        onChange={(e) => update(row.key, { value: e.target.value })}
      />
      <button
        type="button"
        className="btn btn-small btn-ghost"
        aria-label={`Discard ${row.name || "new variable"}`}
        onClick={() => drop(row.key)}
      >
        Discard
      </button>
    </div>
  );
}
