/**
 * The pool's configuration, checked field by field with the same rules the mutation enforces
 * (convex/poolRules.ts) before anything is sent; the server's answer is shown as well.
 */
import { api } from "@convex/_generated/api";
import { IDLE_LIMIT_MINUTES, POOL_BOUNDS, STOPPED_LIMIT_MINUTES } from "@convex/limits";
import { poolConfigProblems, type PoolLimitsInput } from "@convex/poolRules";
import { useMutation } from "convex/react";
import { useState, type FormEvent } from "react";
import { FormError } from "../../components/FormError";
import { usePendingAction } from "../../hooks/usePendingAction";

type Draft = Record<keyof PoolLimitsInput, string>;

const toDraft = (c: PoolLimitsInput): Draft => ({
  targetSize: String(c.targetSize),
  minSize: String(c.minSize),
  maxCreating: String(c.maxCreating),
  containerPorts: c.containerPorts.join(", "),
  idleLimitMinutes: String(c.idleLimitMinutes),
  stoppedLimitMinutes: c.stoppedLimitMinutes === undefined ? "" : String(c.stoppedLimitMinutes),
});

const num = (s: string) => (s.trim() === "" ? NaN : Number(s));
const fromDraft = (d: Draft): PoolLimitsInput => ({
  targetSize: num(d.targetSize),
  minSize: num(d.minSize),
  maxCreating: num(d.maxCreating),
  containerPorts: d.containerPorts
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number),
  idleLimitMinutes: num(d.idleLimitMinutes),
  // Left empty, the stopped limit stays as it is (updateConfig keeps it).
  ...(d.stoppedLimitMinutes.trim() === "" ? {} : { stoppedLimitMinutes: num(d.stoppedLimitMinutes) }),
});

const FIELDS: { key: keyof PoolLimitsInput; label: string; hint: string }[] = [
  {
    key: "targetSize",
    label: "Target size",
    hint: `Ready containers to keep (${POOL_BOUNDS.targetSize.min}-${POOL_BOUNDS.targetSize.max})`,
  },
  { key: "minSize", label: "Minimum size", hint: "Below this, a claim refills at once" },
  {
    key: "maxCreating",
    label: "Max creating",
    hint: `Creations in flight (${POOL_BOUNDS.maxCreating.min}-${POOL_BOUNDS.maxCreating.max})`,
  },
  { key: "containerPorts", label: "Container ports", hint: `Up to ${POOL_BOUNDS.ports.max}, comma-separated` },
  {
    key: "idleLimitMinutes",
    label: "Idle limit (minutes)",
    hint: `Unused this long, an environment is stopped, its workspace kept (${IDLE_LIMIT_MINUTES.min}-${IDLE_LIMIT_MINUTES.max})`,
  },
  {
    key: "stoppedLimitMinutes",
    label: "Stopped limit (minutes)",
    hint: `Stopped and unused this long more, it is destroyed (${STOPPED_LIMIT_MINUTES.min}-${STOPPED_LIMIT_MINUTES.max})`,
  },
];

/** `readOnly` for everyone but host admins: the values, no way to send a change. */
export function PoolConfigForm({ config, readOnly = false }: { config: PoolLimitsInput; readOnly?: boolean }) {
  const update = useMutation(api.pool.updateConfig);
  const [draft, setDraft] = useState<Draft>(() => toDraft(config));
  const [touched, setTouched] = useState(false);
  const { run, busy, error: serverError } = usePendingAction(update);
  const [saved, setSaved] = useState(false);

  const parsed = fromDraft(draft);
  const problems = poolConfigProblems(parsed);
  const problemOf = (key: keyof PoolLimitsInput) => problems.find((p) => p.field === key)?.message;
  const dirty = JSON.stringify(toDraft(parsed)) !== JSON.stringify(toDraft(config));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (problems.length > 0) return;
    if (await run(parsed)) {
      setSaved(true);
      setTouched(false);
    }
  };

  return (
    <form className="card pool-form" onSubmit={(e) => void submit(e)} noValidate>
      <h2>Configuration</h2>
      <div className="form-grid">
        {FIELDS.map(({ key, label, hint }) => {
          const problem = touched ? problemOf(key) : undefined;
          return (
            <label key={key} className={problem ? "field invalid" : "field"}>
              <span>{label}</span>
              <input
                name={key}
                inputMode={key === "containerPorts" ? "text" : "numeric"}
                value={draft[key]}
                readOnly={readOnly}
                aria-invalid={problem !== undefined}
                onChange={(e) => {
                  setDraft({ ...draft, [key]: e.target.value });
                  setTouched(true);
                  setSaved(false);
                }}
              />
              <small className={problem ? "field-error" : "muted"}>{problem ?? hint}</small>
            </label>
          );
        })}
      </div>
      <FormError message={serverError} />
      {readOnly ? (
        <p className="muted">
          Only host admins change the pool (a verified email in ADMIN_EMAILS, or an account the operator granted).
        </p>
      ) : (
        <div className="form-actions">
          {saved && !dirty && <span className="saved">Saved</span>}
          <button className="btn" type="button" disabled={!dirty || busy} onClick={() => setDraft(toDraft(config))}>
            Reset
          </button>
          <button className="btn btn-primary" type="submit" disabled={!dirty || busy || problems.length > 0}>
            {busy ? "Saving…" : "Save configuration"}
          </button>
        </div>
      )}
    </form>
  );
}
