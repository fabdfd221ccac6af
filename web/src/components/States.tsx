/** The loading, empty and error states every page renders (see coder's site/ for the idea). */
import type { ReactNode } from "react";
import type { FallbackProps } from "react-error-boundary";
import { errorMessage } from "../lib/errors";

export function FullPageLoading() {
  return (
    <div className="full-page-center" role="status" aria-live="polite">
      <div className="spinner" aria-hidden />
      <span className="muted">Loading…</span>
    </div>
  );
}

export function LoadingState({ label = "Loading…", rows = 3 }: { label?: string; rows?: number }) {
  return (
    <div className="loading-state" role="status" aria-label={label}>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton-row" />
      ))}
    </div>
  );
}

export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty-state">
      <div className="empty-icon" aria-hidden>
        ◇
      </div>
      <h3>{title}</h3>
      {children && <p className="muted">{children}</p>}
      {action}
    </div>
  );
}

export function ErrorState({ error, resetErrorBoundary }: FallbackProps) {
  return (
    <div className="error-state" role="alert">
      <h3>Something went wrong</h3>
      <p>{errorMessage(error)}</p>
      <button className="btn" onClick={resetErrorBoundary}>
        Try again
      </button>
    </div>
  );
}
