/**
 * A shell in the environment: xterm.js over the agent's terminal WebSocket, opened with a
 * short-lived token from `streams.open`. Fits its box and tells the agent the new size when the
 * window resizes; when the socket closes it says so and offers a new session (a shell does not
 * survive a disconnect, so reconnecting is an explicit choice).
 */
import { api } from "@convex/_generated/api";
import type { Id } from "@convex/_generated/dataModel";
import type { TerminalClientMessage } from "@artie/host-agent/contract";
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { useAction } from "convex/react";
import { useEffect, useRef, useState } from "react";
import { errorMessage } from "../../lib/errors";

type Phase = { kind: "connecting" } | { kind: "open" } | { kind: "closed"; reason: string };

const PHASE_LOOK: Record<Phase["kind"], { className: string; label: string }> = {
  connecting: { className: "stream-connecting", label: "Connecting…" },
  open: { className: "stream-live", label: "Connected" },
  closed: { className: "stream-ended", label: "Disconnected" },
};

const THEME = {
  background: "#0a0c10",
  foreground: "#d8dee9",
  cursor: "#8b9cff",
  selectionBackground: "#2b3350",
};

export function TerminalPanel({ containerId }: { containerId: Id<"containers"> }) {
  const openStream = useAction(api.streams.open);
  const box = useRef<HTMLDivElement>(null);
  const [phase, setPhase] = useState<Phase>({ kind: "connecting" });
  const [session, setSession] = useState(0);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const term = new Terminal({
      cursorBlink: true,
      fontFamily: '"JetBrains Mono", "SFMono-Regular", Menlo, Consolas, monospace',
      fontSize: 13,
      theme: THEME,
      scrollback: 5000,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    fit.fit();

    let ws: WebSocket | null = null;
    let disposed = false;
    const send = (m: TerminalClientMessage) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
    };
    const input = term.onData((data) => send({ type: "input", data }));
    const resize = term.onResize(({ cols, rows }) => send({ type: "resize", cols, rows }));
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(el);

    openStream({ containerId, scope: "terminal" }).then(
      ({ url }) => {
        if (disposed) return;
        const u = new URL(url);
        u.searchParams.set("cols", String(term.cols));
        u.searchParams.set("rows", String(term.rows));
        ws = new WebSocket(u);
        ws.binaryType = "arraybuffer";
        ws.onopen = () => {
          setPhase({ kind: "open" });
          term.focus();
        };
        ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) =>
          term.write(typeof e.data === "string" ? e.data : new Uint8Array(e.data));
        ws.onclose = (e) => {
          if (!disposed) setPhase({ kind: "closed", reason: e.reason || `the connection closed (code ${e.code})` });
        };
      },
      (err: unknown) => {
        if (!disposed) setPhase({ kind: "closed", reason: errorMessage(err) });
      },
    );

    return () => {
      disposed = true;
      observer.disconnect();
      input.dispose();
      resize.dispose();
      ws?.close();
      term.dispose();
    };
  }, [containerId, openStream, session]);

  return (
    <div className="terminal">
      <div className="logs-bar">
        <span className={`stream-state ${PHASE_LOOK[phase.kind].className}`} data-testid="terminal-state">
          <span className="connection-dot" aria-hidden />
          {PHASE_LOOK[phase.kind].label}
        </span>
        {phase.kind === "closed" && <span className="muted">{phase.reason}</span>}
        <span className="grow" />
        {phase.kind === "closed" && (
          <button
            className="btn btn-small"
            onClick={() => {
              setPhase({ kind: "connecting" });
              setSession((s) => s + 1);
            }}
          >
            New session
          </button>
        )}
      </div>
      <div className="terminal-box" ref={box} data-testid="terminal" />
    </div>
  );
}
