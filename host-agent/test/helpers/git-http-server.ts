/**
 * A real smart-HTTP git server for tests: `git http-backend` run as a CGI program behind a small
 * node:http server on 127.0.0.1, serving the bare repos under a fixture root (GIT_PROJECT_ROOT,
 * GIT_HTTP_EXPORT_ALL). Repos marked private answer only Basic auth `x-access-token:<token>` with
 * their token, as GitHub does for an installation token, and 401 with WWW-Authenticate otherwise;
 * the rest are public. A private repo's check may also be a function of the presented token (e.g.
 * the GitHub stand-in's `canRead`, for tokens minted during the test). Request bodies are bounded. Every request's method, URL and headers are
 * recorded, so a test can check where a token travelled. Only fetches: no receive-pack. Given a
 * key and certificate it serves HTTPS instead (for tests of what git trusts).
 */
import { spawn } from "node:child_process";
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type RequestListener } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

/** A fetch's negotiation body is small; anything beyond this is refused with 413. */
const MAX_REQUEST_BODY_BYTES = 8 * 1024 * 1024;
/** A CGI run that takes longer than this is killed (a test must never hang on the server). */
const CGI_TIMEOUT_MS = 30_000;

export type GitRequest = { method: string; url: string; headers: IncomingHttpHeaders; status: number };

export type GitHttpServer = {
  /** For GIT_REMOTE_TEMPLATE: `http(s)://127.0.0.1:<port>/{owner}/{repo}.git`. */
  remoteTemplate: string;
  requests: GitRequest[];
  /**
   * Makes `owner/repo` private: only this token (or, given a function, any token it accepts) is
   * accepted from now on.
   */
  makePrivate: (repo: string, token: string | ((token: string) => boolean)) => void;
  /** Holds every response to requests for `repo` until the returned release is called. */
  hold: (repo: string) => () => void;
  close: () => Promise<void>;
};

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const splitOnce = (s: string, sep: string): [string, string] => {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
};

/** owner/repo from `/owner/repo.git/...`, or null. */
const repoOf = (pathname: string) => /^\/([^/]+)\/([^/]+)\.git(?:\/|$)/.exec(pathname)?.slice(1, 3).join("/") ?? null;

export async function startGitHttpServer(
  projectRoot: string,
  tls?: { key: string; cert: string },
): Promise<GitHttpServer> {
  const requests: GitRequest[] = [];
  const tokens = new Map<string, string | ((token: string) => boolean)>();
  const held = new Map<string, Promise<void>>();

  const authorized = (repo: string, header: string | undefined) => {
    const token = tokens.get(repo);
    if (token === undefined) return true;
    if (typeof token === "function") {
      const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? "");
      const [user, presented] = basic ? splitOnce(Buffer.from(basic[1]!, "base64").toString(), ":") : [];
      return user === "x-access-token" && !!presented && token(presented);
    }
    return sameSecret(header ?? "", `Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`);
  };

  const handler: RequestListener = (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const record: GitRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, status: 0 };
    requests.push(record);
    const answer = (status: number, headers: Record<string, string> = {}, body = "") => {
      record.status = status;
      res.writeHead(status, headers).end(body);
    };
    const repo = repoOf(url.pathname);
    if (!repo || url.pathname.includes("..")) return answer(404);
    if (url.pathname.endsWith("/git-receive-pack") || url.searchParams.get("service") === "git-receive-pack")
      return answer(403);
    if (!authorized(repo, req.headers.authorization))
      return answer(401, { "www-authenticate": 'Basic realm="artie test git"' }, "authentication required\n");

    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        answer(413);
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => {
      if (size > MAX_REQUEST_BODY_BYTES) return;
      void (held.get(repo) ?? Promise.resolve()).then(() => runCgi(Buffer.concat(chunks)));
    });

    const runCgi = (body: Buffer) => {
      const cgi = spawn("git", ["http-backend"], {
        env: {
          PATH: process.env.PATH,
          GIT_CONFIG_GLOBAL: "/dev/null",
          GIT_CONFIG_NOSYSTEM: "1",
          GIT_PROJECT_ROOT: projectRoot,
          GIT_HTTP_EXPORT_ALL: "1",
          REQUEST_METHOD: req.method ?? "GET",
          PATH_INFO: decodeURIComponent(url.pathname),
          QUERY_STRING: url.search.slice(1),
          CONTENT_TYPE: req.headers["content-type"] ?? "",
          CONTENT_LENGTH: String(body.length),
          REMOTE_ADDR: "127.0.0.1",
          ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: req.headers["content-encoding"] } : {}),
          ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
        },
        stdio: ["pipe", "pipe", "ignore"],
        timeout: CGI_TIMEOUT_MS,
      });
      cgi.stdin.end(body);
      let head = Buffer.alloc(0);
      let headersSent = false;
      cgi.stdout.on("data", (c: Buffer) => {
        if (headersSent) return void res.write(c);
        head = Buffer.concat([head, c]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        headersSent = true;
        let status = 200;
        const headers: Record<string, string> = {};
        for (const line of head.subarray(0, end).toString().split("\r\n")) {
          const i = line.indexOf(":");
          const name = line.slice(0, i).trim().toLowerCase();
          const value = line.slice(i + 1).trim();
          if (name === "status") status = Number.parseInt(value, 10);
          else headers[name] = value;
        }
        record.status = status;
        res.writeHead(status, headers);
        res.write(head.subarray(end + 4));
      });
      cgi.on("close", () => {
        if (!headersSent) answer(502);
        else res.end();
      });
    };
  };
  const server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    remoteTemplate: `${tls ? "https" : "http"}://127.0.0.1:${port}/{owner}/{repo}.git`,
    requests,
    makePrivate: (repo, token) => void tokens.set(repo, token),
    hold: (repo) => {
      let release!: () => void;
      held.set(repo, new Promise<void>((r) => (release = r)));
      return () => {
        held.delete(repo);
        release();
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
