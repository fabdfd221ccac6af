/**
 * Fetching a dev server's page from the host, optionally with another `Host` header (a preview
 * host name, which fetch() cannot send: undici forbids setting Host). Bodies are read up to a cap
 * and every request has a deadline. The wait polls a bounded number of times: a dev server that
 * answers `ready` may still compile its first page (Next.js, Nuxt) for several seconds.
 */
import { request } from "node:http";

/** A first page is a few hundred KB at most (Nuxt's welcome page inlines its CSS). */
export const PAGE_MAX_BYTES = 4 * 1024 * 1024;
/** One request's deadline: a first compile on 1.5 CPUs can take this long. */
export const PAGE_REQUEST_TIMEOUT_MS = 60_000;
/** How long the first page may take to appear after `ready`, and how often to ask. */
export const PAGE_WAIT_MS = 120_000;
export const PAGE_POLL_MS = 1_000;

export type Page = { status: number; body: string };

export function getPage(port: number, host?: string): Promise<Page> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/", headers: { accept: "text/html", ...(host ? { host } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > PAGE_MAX_BYTES) req.destroy(new Error(`page larger than ${PAGE_MAX_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.setTimeout(PAGE_REQUEST_TIMEOUT_MS, () =>
      req.destroy(new Error(`no answer within ${PAGE_REQUEST_TIMEOUT_MS} ms`)),
    );
    req.on("error", reject);
    req.end();
  });
}

/**
 * Asks until the page answers 200 with `expected` in it, or the wait is over; returns the last
 * answer (or the last error as a status-0 page) so a failure can say what came instead.
 */
export async function waitForPage(port: number, expected: RegExp, host?: string): Promise<Page> {
  const deadline = Date.now() + PAGE_WAIT_MS;
  let last: Page = { status: 0, body: "" };
  while (Date.now() < deadline) {
    last = await getPage(port, host).catch((err: unknown) => ({ status: 0, body: String(err) }));
    // A refusal is an answer, not a page still compiling: no point asking again.
    if ((last.status === 200 && expected.test(last.body)) || last.status === 403) return last;
    await new Promise((r) => setTimeout(r, PAGE_POLL_MS));
  }
  return last;
}

/** A page's first lines, for a failure message. */
export const excerpt = (page: Page, chars = 400) =>
  `HTTP ${page.status}: ${page.body.slice(0, chars).replace(/\s+/g, " ")}`;
