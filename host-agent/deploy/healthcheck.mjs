// The image's HEALTHCHECK: asks the agent's own /health, unauthenticated, and exits 0 only on a
// 2xx (a 503 means Docker is unreachable: the container is unhealthy until it answers again).
// Plain JavaScript run by node, so a check costs no TypeScript compile. PORT and BIND_ADDRESS are
// the agent's own (config.ts); a wildcard bind is asked on loopback.
const port = process.env.PORT || "8080";
const bind = process.env.BIND_ADDRESS || "0.0.0.0";
const host = bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind.includes(":") ? `[${bind}]` : bind;
/** Under the HEALTHCHECK's own --timeout, so a hung agent is reported, not waited for. */
const TIMEOUT_MS = 4_000;

try {
  const res = await fetch(`http://${host}:${port}/health`, {
    redirect: "error",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  await res.body?.cancel();
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
