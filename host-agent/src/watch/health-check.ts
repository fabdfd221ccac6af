/**
 * The light check behind a container's `health`: one HTTP HEAD to the URL where the dev server
 * answered its readiness probe (its published port, as setup reached it), with a short timeout.
 * Any HTTP answer counts (a redirect, a 404, a 405 for HEAD): the server is up. Not a TCP connect:
 * with isolation the agent's own port forwarder accepts the connection whatever the container
 * does, so only an answer says the dev server is there. Like the readiness probe it follows no
 * redirect and reads no body, so a dev server can send the agent nowhere else.
 * It leaves out when and which to check (the watch) and what a failure means.
 */
import { HEALTH_CHECK_TIMEOUT_MS } from "../config.js";

export async function answersHead(url: string, timeoutMs = HEALTH_CHECK_TIMEOUT_MS): Promise<boolean> {
  try {
    const res = await fetch(url, { method: "HEAD", redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/** Runs `check` over every item with at most `limit` in flight; answers in the items' order. */
export async function checkAll<T>(items: T[], check: (item: T) => Promise<boolean>, limit: number) {
  const results: boolean[] = new Array<boolean>(items.length).fill(false);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await check(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
