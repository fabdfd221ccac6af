/**
 * The log pane: virtualised (only the rows on screen are in the DOM, so 50k lines scroll as
 * smoothly as 50), follows the tail unless the reader scrolled up, and says how the stream is.
 */
import type { Id } from "@convex/_generated/dataModel";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef, useState } from "react";
import { useLogStream, type LogLine, type LogStreamState } from "../../hooks/useLogStream";
import { formatClock, formatCount } from "../../lib/format";

const ROW_HEIGHT = 20;
/** Within this many pixels of the bottom counts as "at the tail". */
const TAIL_SLACK_PX = ROW_HEIGHT * 2;

const STATE_LABEL: Record<LogStreamState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  ended: "Container stopped",
};

type Props = { containerId: Id<"containers">; enabled: boolean; resumeKey?: number };

export function LogViewer({ containerId, enabled, resumeKey }: Props) {
  const { lines, dropped, state, error, reconnect } = useLogStream(containerId, enabled, resumeKey);
  const scroller = useRef<HTMLDivElement>(null);
  const [following, setFollowing] = useState(true);
  // TanStack Virtual's instance is mutable, so the React Compiler leaves this component alone.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: lines.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 30,
  });

  useEffect(() => {
    if (following && lines.length > 0) virtualizer.scrollToIndex(lines.length - 1, { align: "end" });
  }, [following, lines.length, virtualizer]);

  // Only the reader scrolling up stops following. Our own jump to the tail also fires a scroll
  // event, and in a burst more lines may have landed before it is handled: measured then, the
  // tail looks far away, and following used to switch itself off mid-burst.
  const lastTop = useRef(0);
  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const movedUp = el.scrollTop < lastTop.current;
    lastTop.current = el.scrollTop;
    if (el.scrollHeight - el.scrollTop - el.clientHeight <= TAIL_SLACK_PX) setFollowing(true);
    else if (movedUp) setFollowing(false);
  };

  return (
    <div className="logs">
      <div className="logs-bar">
        <span className={`stream-state stream-${state}`} data-testid="log-state">
          <span className="connection-dot" aria-hidden />
          {STATE_LABEL[state]}
        </span>
        <span className="muted" data-testid="log-count">
          {formatCount(dropped + lines.length)} lines
        </span>
        {dropped > 0 && <span className="muted">({formatCount(dropped)} earliest not kept)</span>}
        {error && state !== "live" && <span className="form-error small">{error}</span>}
        <span className="grow" />
        {state === "ended" && (
          <button className="btn btn-small" onClick={reconnect}>
            Reconnect
          </button>
        )}
      </div>
      <div className="logs-scroll" ref={scroller} onScroll={onScroll} role="log" aria-label="Container logs">
        {lines.length === 0 ? (
          <div className="logs-empty muted">{state === "live" ? "No output yet." : STATE_LABEL[state]}</div>
        ) : (
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {virtualizer.getVirtualItems().map((row) => (
              <LogRow key={lines[row.index]!.seq} line={lines[row.index]!} top={row.start} />
            ))}
          </div>
        )}
      </div>
      {!following && lines.length > 0 && (
        <button className="btn btn-small jump-latest" onClick={() => setFollowing(true)}>
          Jump to latest ↓
        </button>
      )}
    </div>
  );
}

const PHASE_PREFIX = /^\[(cloning|installing|starting|dev|ready|error)\]/;

function LogRow({ line, top }: { line: LogLine; top: number }) {
  const phase = PHASE_PREFIX.exec(line.line)?.[1];
  return (
    <div
      className={line.stream === "stderr" ? "log-line stderr" : "log-line"}
      style={{ transform: `translateY(${top}px)`, height: ROW_HEIGHT }}
    >
      <span className="log-time">{formatClock(line.timestamp, true)}</span>
      {phase && <span className={`log-phase phase-${phase}`}>{phase}</span>}
      <span className="log-text">{phase ? line.line.slice(phase.length + 2).trimStart() : line.line}</span>
    </div>
  );
}
