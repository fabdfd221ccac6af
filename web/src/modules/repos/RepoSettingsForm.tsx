/**
 * A repo's settings as one form over their public view: runtime, default branch, commands, base
 * image, ports, limits, idle limit and variables (by name only), plus the GitHub App's install
 * state. Checked field by field with the same rules the settings mutation enforces
 * (convex/settingsRules.ts) before `onSave` is called; the server's answer is shown as well.
 * It calls no Convex function itself: the page passes the view, the install state and `onSave`.
 * `readOnly` (team members who are not admins) shows the same fields with no way to change them.
 */
import { IDLE_LIMIT_MINUTES, SETTINGS_BOUNDS } from "@convex/limits";
import {
  RUNTIMES,
  formatCommandLine,
  repoSettingsProblems,
  type RepoSettingsInput,
  type Runtime,
  type SettingsField,
} from "@convex/settingsRules";
import type { RepoSettingsView } from "@convex/settingsView";
import { useId, useState, type FormEvent } from "react";
import { FormError } from "../../components/FormError";
import { usePendingAction } from "../../hooks/usePendingAction";
import { EnvVarsEditor, envVarsInput, type EnvVarRow } from "./EnvVarsEditor";
import { InstallStateNote, type InstallState } from "./InstallStateNote";

type TextField =
  | "defaultBranch"
  | "devCommand"
  | "installCommand"
  | "baseImage"
  | "ports"
  | "memoryMb"
  | "cpus"
  | "pidsLimit"
  | "idleLimitMinutes";
type Draft = Record<TextField, string> & { runtime: Runtime; vars: EnvVarRow[] };

const str = (n: number | undefined) => (n === undefined ? "" : String(n));
const toDraft = (s: RepoSettingsView): Draft => ({
  runtime: s.runtime,
  defaultBranch: s.defaultBranch,
  devCommand: s.devCommand ? formatCommandLine(s.devCommand) : "",
  installCommand: s.installCommand ? formatCommandLine(s.installCommand) : "",
  baseImage: s.baseImage ?? "",
  ports: s.ports?.join(", ") ?? "",
  memoryMb: str(s.limits?.memoryMb),
  cpus: str(s.limits?.cpus),
  pidsLimit: str(s.limits?.pidsLimit),
  idleLimitMinutes: str(s.idleLimitMinutes),
  vars: s.envVars.map(({ name }, i) => ({ key: i + 1, name, stored: true })),
});

/** Empty means "not set" (the default applies); anything else must be a number. */
const optNum = (s: string) => (s.trim() === "" ? undefined : Number(s));
const blankToUndefined = (s: string) => (s.trim() === "" ? undefined : s.trim());

function fromDraft(d: Draft): { input: RepoSettingsInput; varKeys: number[] } {
  const limits = { memoryMb: optNum(d.memoryMb), cpus: optNum(d.cpus), pidsLimit: optNum(d.pidsLimit) };
  const someLimit = Object.values(limits).some((x) => x !== undefined);
  const ports = d.ports.split(/[\s,]+/).filter(Boolean);
  const { envVars, keys } = envVarsInput(d.vars);
  const input: RepoSettingsInput = {
    runtime: d.runtime,
    defaultBranch: d.defaultBranch.trim(),
    devCommand: blankToUndefined(d.devCommand),
    installCommand: blankToUndefined(d.installCommand),
    baseImage: blankToUndefined(d.baseImage),
    ports: ports.length > 0 ? ports.map(Number) : undefined,
    limits: someLimit ? Object.fromEntries(Object.entries(limits).filter(([, x]) => x !== undefined)) : undefined,
    idleLimitMinutes: optNum(d.idleLimitMinutes),
    envVars,
  };
  return { input, varKeys: keys };
}

const L = SETTINGS_BOUNDS.limits;
const FIELDS: { key: TextField; problem: SettingsField; label: string; hint: string; placeholder?: string }[] = [
  { key: "defaultBranch", problem: "defaultBranch", label: "Default branch", hint: "Main images are built from it" },
  {
    key: "devCommand",
    problem: "devCommand",
    label: "Dev command",
    placeholder: "npm run dev",
    hint: "One line, no shell: quotes work, && and | do not (use sh -c '…'). Empty: <package manager> run dev",
  },
  {
    key: "installCommand",
    problem: "installCommand",
    label: "Install command",
    placeholder: "npm install",
    hint: "Empty: from the lockfile (npm install; pnpm or yarn install with the lockfile frozen)",
  },
  {
    key: "baseImage",
    problem: "baseImage",
    label: "Base image",
    placeholder: "node:24-slim",
    hint: "Empty: the host's default image",
  },
  {
    key: "ports",
    problem: "ports",
    label: "Container ports",
    placeholder: "3000",
    hint: `Up to ${SETTINGS_BOUNDS.ports.count}, ${SETTINGS_BOUNDS.ports.min}-${SETTINGS_BOUNDS.ports.max}; the dev server gets the first as PORT`,
  },
  {
    key: "memoryMb",
    problem: "limits.memoryMb",
    label: "Memory (MB)",
    hint: `Up to ${L.memoryMb.max}; empty: host default`,
  },
  { key: "cpus", problem: "limits.cpus", label: "CPUs", hint: `Up to ${L.cpus.max}; empty: host default` },
  {
    key: "pidsLimit",
    problem: "limits.pidsLimit",
    label: "Processes",
    hint: `Up to ${L.pidsLimit.max}; empty: host default`,
  },
  {
    key: "idleLimitMinutes",
    problem: "idleLimitMinutes",
    label: "Idle limit (minutes)",
    hint: `${IDLE_LIMIT_MINUTES.min}-${IDLE_LIMIT_MINUTES.max}; empty: the pool's`,
  },
];

type Props = {
  /** `owner/name`, for the install state's wording. */
  repo: string;
  settings: RepoSettingsView;
  /** Undefined while it is being checked. */
  installState: InstallState | undefined;
  /** Why the install state could not be checked. */
  installError?: string | null;
  /** Saves the input (the settings mutation); a rejection is shown under the form. */
  onSave: (input: RepoSettingsInput) => Promise<unknown>;
  readOnly?: boolean;
};

export function RepoSettingsForm({ repo, settings, installState, installError, onSave, readOnly = false }: Props) {
  const [draft, setDraft] = useState<Draft>(() => toDraft(settings));
  const [touched, setTouched] = useState(false);
  const [saved, setSaved] = useState(false);
  const { run, busy, error: serverError } = usePendingAction(onSave);
  const runtimeLabel = useId();

  const { input, varKeys } = fromDraft(draft);
  const stored = settings.envVars.map(({ name }) => ({ name }));
  const problems = repoSettingsProblems(input, stored);
  const problemOf = (field: SettingsField) => (touched ? problems.find((p) => p.field === field)?.message : undefined);
  const varProblemOf = (key: number) => {
    const index = varKeys.indexOf(key);
    return index < 0 ? undefined : problemOf(`envVars.${index}`);
  };

  const edit = (patch: Partial<Draft>) => {
    setDraft({ ...draft, ...patch });
    setTouched(true);
    setSaved(false);
  };

  const editField = (key: TextField, value: string) => {
    const next = { ...draft };
    next[key] = value;
    edit(next);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (readOnly || problems.length > 0) return;
    if (await run(input)) {
      // Values leave the page once saved: every listed variable is now just "set".
      setDraft({
        ...draft,
        vars: draft.vars.filter((r) => !r.removed).map((r) => ({ key: r.key, name: r.name, stored: true })),
      });
      setSaved(true);
      setTouched(false);
    }
  };

  return (
    <form className="card repo-settings" onSubmit={(e) => void submit(e)} noValidate aria-label={`Settings of ${repo}`}>
      <InstallStateNote repo={repo} installState={installState} error={installError} />
      {/* A disabled fieldset disables every control in it, the variables' buttons included. */}
      <fieldset className="settings-fields" disabled={readOnly}>
        <div className="field">
          <span id={runtimeLabel}>Runtime</span>
          <div className="segmented" role="radiogroup" aria-labelledby={runtimeLabel}>
            {RUNTIMES.map((r) => (
              <button
                key={r}
                type="button"
                role="radio"
                aria-checked={draft.runtime === r}
                className={draft.runtime === r ? "segment active" : "segment"}
                onClick={() => edit({ runtime: r })}
              >
                {r === "docker" ? "Docker" : "Firecracker"}
              </button>
            ))}
          </div>
          {problemOf("runtime") && <small className="field-error">{problemOf("runtime")}</small>}
        </div>
        <div className="form-grid">
          {FIELDS.map(({ key, problem: field, label, hint, placeholder }) => {
            const problem = problemOf(field);
            return (
              <label key={key} className={problem ? "field invalid" : "field"}>
                <span>{label}</span>
                <input
                  name={key}
                  value={draft[key]}
                  placeholder={placeholder}
                  spellCheck={false}
                  aria-invalid={problem !== undefined}
                  onChange={(e) => editField(key, e.target.value)}
                />
                <small className={problem ? "field-error" : "muted"}>{problem ?? hint}</small>
              </label>
            );
          })}
        </div>
        <EnvVarsEditor rows={draft.vars} onChange={(vars) => edit({ vars })} problemOf={varProblemOf} disabled={busy} />
        {problemOf("envVars") && <p className="form-error">{problemOf("envVars")}</p>}
      </fieldset>
      <FormError message={serverError} />
      {readOnly ? (
        <p className="muted">Only team admins change a repository&apos;s settings.</p>
      ) : (
        <div className="form-actions">
          {saved && <span className="saved">Saved; the next setup uses these settings</span>}
          <button className="btn btn-primary" type="submit" disabled={busy}>
            {busy ? "Saving…" : "Save settings"}
          </button>
        </div>
      )}
    </form>
  );
}
