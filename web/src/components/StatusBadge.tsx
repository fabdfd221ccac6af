/** A status as a coloured pill; busy statuses pulse. */
import type { Status } from "@convex/statuses";
import { BUSY, STATUS_LOOK } from "../lib/statuses";

export function StatusBadge({ status }: { status: Status }) {
  const look = STATUS_LOOK[status];
  return (
    <span className={`badge badge-${look.tone}`} data-status={status}>
      <span className={BUSY.has(status) ? "badge-dot pulse" : "badge-dot"} aria-hidden />
      {look.label}
    </span>
  );
}
