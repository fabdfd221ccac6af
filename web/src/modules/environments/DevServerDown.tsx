/**
 * What the host said when the dev server stopped after `ready` (killed for memory, exited,
 * its container died): the reason, what to do, and the last lines it printed, readably. Shown
 * instead of "Setup failed" when the record carries a `downReason`.
 */
import type { Doc } from "@convex/_generated/dataModel";
import { DOWN_REASON_LABEL, downReport } from "../../lib/devServer";

type Props = { env: Pick<Doc<"containers">, "downReason" | "error"> };

export function DevServerDown({ env }: Props) {
  if (!env.downReason) return null;
  const { summary, lastLines } = downReport(env.error ?? "");
  return (
    <div className="alert alert-danger dev-server-down" role="alert" aria-label="The dev server stopped">
      <div className="dev-server-down-head">
        <strong>The dev server stopped.</strong> <span className="chip">{DOWN_REASON_LABEL[env.downReason]}</span>
      </div>
      {summary && <p className="pre">{summary}</p>}
      {lastLines.length > 0 && (
        <figure className="last-output">
          <figcaption className="muted small">Last output</figcaption>
          <pre className="mono" aria-label="Last output">
            {lastLines.join("\n")}
          </pre>
        </figure>
      )}
    </div>
  );
}
