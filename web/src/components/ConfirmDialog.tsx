/**
 * A modal that names what will happen before it happens (restart, destroy). Built on <dialog>,
 * which gives focus trapping and Escape-to-cancel for free. The confirm button shows progress
 * and the dialog shows the error if the action fails, so nothing is lost silently.
 */
import { useEffect, useId, useRef, type ReactNode } from "react";
import { usePendingAction } from "../hooks/usePendingAction";
import { FormError } from "./FormError";

type Props = {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  tone?: "danger" | "primary";
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
};

export function ConfirmDialog({ open, title, children, confirmLabel, tone = "primary", onConfirm, onClose }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId(); // a page can hold several dialogs
  const { run, busy, error, setError } = usePendingAction(onConfirm);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      setError(null);
      dialog.showModal();
    } else if (!open && dialog.open) dialog.close();
  }, [open, setError]);

  const confirm = async () => {
    if (await run()) onClose();
  };

  return (
    <dialog ref={ref} className="dialog" onClose={onClose} aria-labelledby={titleId}>
      <h2 id={titleId}>{title}</h2>
      <div className="dialog-body">{children}</div>
      <FormError message={error} />
      <div className="dialog-actions">
        <button className="btn" onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button className={`btn btn-${tone}`} onClick={() => void confirm()} disabled={busy} autoFocus>
          {busy ? "Working…" : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
