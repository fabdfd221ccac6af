/**
 * Email + password sign-in and sign-up (Convex Auth's Password provider). `notice` says why a
 * sign-in is asked for (an invite link opened signed out); the address stays as it was, so the
 * page behind it opens once signed in.
 */
import { useAuthActions } from "@convex-dev/auth/react";
import { useState, type FormEvent } from "react";
import { Brand } from "../../components/Brand";
import { FormError } from "../../components/FormError";
import { usePendingAction } from "../../hooks/usePendingAction";

type Flow = "signIn" | "signUp";

/** Convex Auth's errors name internals ("InvalidSecret"); say what a person can do instead. */
function signInError(flow: Flow, err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (flow === "signUp" && /already exists/i.test(text)) return "An account with this email exists. Sign in instead.";
  if (/password/i.test(text) && /invalid/i.test(text) && flow === "signUp")
    return "Choose a password of at least 8 characters.";
  return flow === "signIn"
    ? "That email and password do not match an account."
    : "Could not create the account. Check the email and try again.";
}

export function SignInPage({ notice }: { notice?: string }) {
  const { signIn } = useAuthActions();
  const [flow, setFlow] = useState<Flow>("signIn");
  const { run, busy, error, setError } = usePendingAction(
    (form: FormData) => signIn("password", form),
    (err) => signInError(flow, err),
  );

  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    form.set("flow", flow);
    void run(form);
  };

  return (
    <div className="signin">
      <div className="signin-card">
        <Brand large />
        <h1>{flow === "signIn" ? "Sign in" : "Create your account"}</h1>
        <p className="muted">Development environments for every repository, ready in seconds.</p>
        {notice && (
          <p className="signin-notice" role="status">
            {notice}
          </p>
        )}
        <form onSubmit={submit} className="form">
          <label className="field">
            <span>Email</span>
            <input name="email" type="email" autoComplete="email" required placeholder="you@company.com" />
          </label>
          <label className="field">
            <span>Password</span>
            <input
              name="password"
              type="password"
              autoComplete={flow === "signIn" ? "current-password" : "new-password"}
              minLength={8}
              required
            />
          </label>
          <FormError message={error} />
          <button className="btn btn-primary btn-block" type="submit" disabled={busy}>
            {busy ? "Working…" : flow === "signIn" ? "Sign in" : "Create account"}
          </button>
        </form>
        <p className="signin-switch muted">
          {flow === "signIn" ? "New here?" : "Have an account?"}{" "}
          <button
            className="link-button"
            onClick={() => {
              setFlow(flow === "signIn" ? "signUp" : "signIn");
              setError(null);
            }}
          >
            {flow === "signIn" ? "Create an account" : "Sign in"}
          </button>
        </p>
      </div>
    </div>
  );
}
