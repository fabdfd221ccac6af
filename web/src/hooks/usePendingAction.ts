/**
 * Runs an async action (a mutation, a sign-in) for a form or a button: says while it is busy,
 * and keeps the error as a sentence a person can act on instead of throwing it away.
 */
import { useCallback, useState } from "react";
import { errorMessage } from "../lib/errors";

export function usePendingAction<A extends unknown[]>(
  action: (...args: A) => Promise<unknown>,
  describe: (err: unknown) => string = errorMessage,
) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  /** Resolves to whether the action succeeded; never rejects. */
  const run = useCallback(
    async (...args: A): Promise<boolean> => {
      setBusy(true);
      setError(null);
      try {
        await action(...args);
        return true;
      } catch (err) {
        setError(describe(err));
        return false;
      } finally {
        setBusy(false);
      }
    },
    [action, describe],
  );

  return { run, busy, error, setError };
}
