/**
 * What the CLI says when something fails: a short first line that names what went wrong, and a
 * second that says what to do next (is the agent running, which secret to fix, which command to
 * run). The agent's own message, code and request id follow for whoever reads on. It leaves out
 * stack traces: a person at a terminal on a broken host has no use for them.
 */
import { AgentError } from "../api/client.js";

/** A failure the CLI itself found (a setting, a refusal), with the exit code it ends with. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The lines to print for `err`; `where` names the agent's address and where it came from. */
export function explain(err: unknown, where: { url: string; urlFrom: string } | null): string[] {
  if (err instanceof CliError) return [err.message];
  if (!(err instanceof AgentError)) return [`Unexpected failure: ${err instanceof Error ? err.message : String(err)}`];
  const at = where ? `the agent at ${where.url}` : "the agent";
  switch (err.reason) {
    case "unreachable":
      return [
        `Cannot reach ${at}${why(err)}.`,
        "Is the agent running? systemctl status docker-manager (a provisioned host) or npm run agent (a checkout).",
        ...(where?.urlFrom === "AGENT_URL"
          ? ["The address is AGENT_URL's: is that where the agent listens?"]
          : where
            ? [`The address is from ${where.urlFrom}; set AGENT_URL if the agent listens elsewhere.`]
            : []),
      ];
    case "timeout":
      return [
        `No answer in time from ${at}.`,
        "It may be overloaded or stuck: artie-host health, then its log (journalctl -u docker-manager).",
        err.message,
      ];
    case "redirect":
      return [
        `Something at ${where?.url ?? "that address"} answered with a redirect: it is not the agent.`,
        "Check AGENT_URL.",
        err.message,
      ];
    case "too_large":
    case "bad_answer":
      return [
        `The answer from ${at} is not what this CLI expects.`,
        "Is AGENT_URL the agent's address, and the agent the same version as this checkout?",
        err.message,
      ];
    case "agent_error":
      return [...agentErrorLines(err), ...(err.details.requestId ? [`(request ${err.details.requestId})`] : [])];
  }
}

function agentErrorLines(err: AgentError): string[] {
  const said = err.details.agentMessage ?? err.message;
  const issues = err.issues.map((i) => `  ${i.path}: ${i.message}`);
  switch (err.code) {
    case "unauthorized":
      return [
        "The agent refused the API secret.",
        "API_SECRET in .env (or the environment) does not match the agent's: use the value in the agent's own .env.",
      ];
    case "container_not_found":
      return [said, "artie-host status lists the containers on this host."];
    case "conflict":
      return [said, "Another operation on it is under way: try again in a moment."];
    case "already_running":
      return [said, "artie-host restart <id> starts it afresh."];
    case "insufficient_storage":
      return [said, "artie-host prune --dry-run shows what a prune would free; artie-host prune frees it."];
    case "docker_unavailable":
      return [said, "The agent cannot reach Docker: systemctl status docker, then artie-host health."];
    case "not_found":
      return [said, "This agent does not know that route: is it older than this CLI?"];
    case "invalid_request":
      return [said, ...issues];
    default:
      return [said, ...issues];
  }
}

/** fetch's own reason, from the error's cause chain: ` (connect ECONNREFUSED 127.0.0.1:8080)`. */
function why(err: AgentError): string {
  let cause: unknown = err.cause;
  for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
    if (!(cause.cause instanceof Error)) return cause.message === "fetch failed" ? "" : ` (${cause.message})`;
    cause = cause.cause;
  }
  return "";
}
