/**
 * A stand-in for GitHub's side of the GitHub App, for tests: the six endpoints the control plane
 * calls, answered as GitHub documents them, and checked as GitHub checks them:
 * - `GET /repos/{owner}/{repo}/installation` and `POST /app/installations/{id}/access_tokens`
 *   need `Authorization: Bearer <App JWT>`; the JWT's RS256 signature is verified with the App's
 *   public key (jose, an implementation independent of the one under test), `iss` must name the
 *   App, an expired `exp`, one more than 10 minutes ahead, or an `iat` in the future is a 401.
 *   The token request may only name repositories the installation covers and permissions it was
 *   granted (422 otherwise, as GitHub answers).
 * - `POST /login/oauth/access_token` checks client id, client secret and a single-use code that
 *   expires; a bad one is a 200 with an `error` field, as GitHub answers.
 * - `GET /user/installations` (paged by `per_page`/`page`, with a Link header) needs a user token
 *   this stand-in issued, as `Bearer` or `token`. So does
 *   `GET /user/installations/{id}/repositories` (paged the same way), which answers 404 for an
 *   installation the user cannot access and lists only the repos of it the user can access.
 * - `DELETE /applications/{client_id}/token` ("Delete an app token") needs Basic client id and
 *   secret and a JSON body `{access_token}` naming a live user token; the token stops working.
 * Every request is recorded (method, path, query, auth scheme, JWT claims, body, status) and
 * every token is random and GitHub-shaped (`ghs_`, `ghu_`, `ghr_`) so leak scans can look for
 * them. One handler, `handle(Request): Response`, serves both `vi.stubGlobal("fetch",
 * standIn.fetch)` in convex-test and a node:http server (test.githubServer.ts) in the e2e test.
 * The file name has two dots so the Convex CLI never deploys it.
 * Leaves out: every other GitHub endpoint, webhooks, rate limits, repository ids.
 */
import { compactVerify } from "jose";

export type StandInInstallation = {
  id: number;
  /** The account the App is installed on (a user or an organization login). */
  account: string;
  /** Repository names under `account` the installation covers. */
  repos: string[];
  /** What the App was granted; default contents: read and metadata: read. */
  permissions?: Record<string, "read" | "write">;
};
export type StandInUser = {
  login: string;
  installationIds: number[];
  /** `owner/name` of the repos the user can access; default every repo of their installations. */
  repos?: string[];
};
export type StandInOptions = {
  appId: string;
  clientId: string;
  clientSecret: string;
  /** The App's public key: JWTs are verified with it. */
  publicKey: CryptoKey;
  installations?: StandInInstallation[];
  users?: StandInUser[];
  /** Origin that `standIn.fetch` answers; anything else is refused as unreachable. */
  origin?: string;
  now?: () => number;
};
export type RecordedRequest = {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The Authorization header's scheme (`Bearer`, `token`), never the credential. */
  authScheme: string | null;
  /** The App JWT's claims, once its signature verified. */
  jwt?: { iat: unknown; exp: unknown; iss: unknown };
  body: unknown;
  status: number;
};
export type MintedToken = {
  token: string;
  installationId: number;
  /** `owner/name` of every repository the token may read. */
  repositories: string[];
  permissions: Record<string, string>;
  expiresAt: number;
};

const DOCS = "https://docs.github.com/rest";
const JWT_MAX_LIFETIME_S = 10 * 60;
const CODE_TTL_MS = 10 * 60_000;
const INSTALLATION_TOKEN_TTL_MS = 60 * 60_000;
const USER_TOKEN_TTL_S = 8 * 60 * 60;
const LEVEL = { read: 1, write: 2 } as const;

type Handled = { status: number; body: unknown; headers?: Record<string, string> };

export class GitHubStandIn {
  readonly requests: RecordedRequest[] = [];
  readonly minted: MintedToken[] = [];
  /** How many user tokens were revoked through DELETE /applications/{client_id}/token. */
  revokedUserTokens = 0;
  readonly origin: string;
  private readonly codes = new Map<string, { login: string; expiresAt: number }>();
  private readonly userTokens = new Map<string, string>();
  private readonly issued: string[] = [];
  private readonly now: () => number;

  constructor(private readonly options: StandInOptions) {
    this.origin = options.origin ?? "https://github.test";
    this.now = options.now ?? Date.now;
  }

  /** What GitHub's web flow hands the setup redirect after `login` authorizes: a fresh code. */
  authorize(login: string): string {
    const code = randomToken("");
    this.codes.set(code, { login, expiresAt: this.now() + CODE_TTL_MS });
    this.issued.push(code);
    return code;
  }

  /** Every secret this stand-in knows or handed out (tokens, codes, the client secret), for leak scans. */
  secrets(): string[] {
    return [this.options.clientSecret, ...this.issued];
  }

  /** Whether `token` is a live installation token that may read `owner/name` (for a git server). */
  canRead(token: string, fullName: string): boolean {
    const grant = this.minted.find((m) => m.token === token);
    return (
      !!grant &&
      grant.expiresAt > this.now() &&
      grant.repositories.includes(fullName.toLowerCase()) &&
      grant.permissions.contents !== undefined
    );
  }

  /** A `fetch` that answers this stand-in's origin and refuses every other address. */
  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    if (new URL(req.url).origin !== this.origin) throw new TypeError(`fetch failed: ${req.url} is not the stand-in`);
    return this.handle(req);
  };

  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const auth = req.headers.get("authorization");
    const text = await req.text();
    const body = parseBody(text, req.headers.get("content-type"));
    const record: RecordedRequest = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authScheme: auth?.split(" ")[0] ?? null,
      body,
      status: 0,
    };
    this.requests.push(record);
    const answer = await this.route(req, url, auth, body, record);
    record.status = answer.status;
    const json = !/\/login\/oauth\//.test(url.pathname) || /json/.test(req.headers.get("accept") ?? "");
    const payload = json ? JSON.stringify(answer.body) : new URLSearchParams(answer.body as Record<string, string>);
    return new Response(answer.status === 204 ? null : payload.toString(), {
      status: answer.status,
      headers: {
        "content-type": json ? "application/json; charset=utf-8" : "application/x-www-form-urlencoded",
        ...answer.headers,
      },
    });
  }

  private async route(req: Request, url: URL, auth: string | null, body: unknown, record: RecordedRequest) {
    const path = url.pathname;
    let m: RegExpExecArray | null;
    if (req.method === "GET" && (m = /^\/repos\/([^/]+)\/([^/]+)\/installation$/.exec(path))) {
      return (
        (await this.app(auth, record)) ??
        this.repoInstallation(decodeURIComponent(m[1] ?? ""), decodeURIComponent(m[2] ?? ""))
      );
    }
    if (req.method === "POST" && (m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path))) {
      return (await this.app(auth, record)) ?? this.accessToken(Number(m[1]), body);
    }
    if (req.method === "POST" && path === "/login/oauth/access_token") return this.exchange(body);
    if (req.method === "GET" && path === "/user/installations") return this.userInstallations(auth, url);
    if (req.method === "GET" && (m = /^\/user\/installations\/(\d+)\/repositories$/.exec(path))) {
      return this.userInstallationRepos(auth, url, Number(m[1]));
    }
    if (req.method === "DELETE" && (m = /^\/applications\/([^/]+)\/token$/.exec(path))) {
      return this.revoke(auth, decodeURIComponent(m[1] ?? ""), body);
    }
    return notFound();
  }

  /** GitHub's checks of an App JWT; null when it is good. */
  private async app(auth: string | null, record: RecordedRequest): Promise<Handled | null> {
    const undecodable = unauthorized("A JSON web token could not be decoded");
    const [scheme, jwt] = (auth ?? "").split(" ");
    if (scheme !== "Bearer" || !jwt) return undecodable;
    let claims: Record<string, unknown>;
    try {
      const { payload } = await compactVerify(jwt, this.options.publicKey, { algorithms: ["RS256"] });
      claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    } catch {
      return undecodable;
    }
    record.jwt = { iat: claims.iat, exp: claims.exp, iss: claims.iss };
    const now = Math.floor(this.now() / 1000);
    const { iat, exp, iss } = claims;
    if (typeof exp !== "number" || exp <= now) {
      return unauthorized(
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    }
    if (exp > now + JWT_MAX_LIFETIME_S) return unauthorized("'Expiration time' claim ('exp') is too far in the future");
    if (typeof iat !== "number" || iat > now) {
      return unauthorized(
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
      );
    }
    const issuer = String(iss);
    if (issuer !== this.options.appId && issuer !== this.options.clientId) return unauthorized("Integration not found");
    return null;
  }

  private installations() {
    return this.options.installations ?? [];
  }

  private repoInstallation(owner: string, repo: string): Handled {
    const inst = this.installations().find((i) => same(i.account, owner) && i.repos.some((r) => same(r, repo)));
    return inst ? { status: 200, body: this.installationJson(inst) } : notFound();
  }

  private accessToken(id: number, body: unknown): Handled {
    const inst = this.installations().find((i) => i.id === id);
    if (!inst) return notFound();
    if (body === undefined) return { status: 400, body: { message: "Problems parsing JSON", documentation_url: DOCS } };
    const { repositories, permissions, ...rest } = (body ?? {}) as Record<string, unknown>;
    const badPermissions =
      permissions !== undefined &&
      (typeof permissions !== "object" || permissions === null || Array.isArray(permissions));
    if (
      Object.keys(rest).length > 0 ||
      badPermissions ||
      (repositories !== undefined && !isStringArray(repositories))
    ) {
      return unprocessable("Invalid request.");
    }
    const names = repositories ?? inst.repos;
    if (names.length === 0 || !names.every((n) => inst.repos.some((r) => same(r, n)))) {
      return unprocessable(
        "There is at least one repository that does not exist or is not accessible to the parent installation.",
      );
    }
    const granted = inst.permissions ?? { contents: "read", metadata: "read" };
    const asked = (permissions ?? granted) as Record<string, unknown>;
    const ok = Object.entries(asked).every(([name, level]) => {
      const has = granted[name];
      return has !== undefined && (level === "read" || level === "write") && LEVEL[level] <= LEVEL[has];
    });
    if (!ok) return unprocessable("The permissions requested are not granted to this installation.");
    const token = randomToken("ghs_");
    const expiresAt = this.now() + INSTALLATION_TOKEN_TTL_MS;
    const full = names.map((n) => `${inst.account}/${n}`.toLowerCase());
    this.minted.push({
      token,
      installationId: id,
      repositories: full,
      permissions: asked as Record<string, string>,
      expiresAt,
    });
    this.issued.push(token);
    return {
      status: 201,
      body: {
        token,
        expires_at: new Date(expiresAt).toISOString().replace(/\.\d+Z$/, "Z"),
        permissions: asked,
        repository_selection: "selected",
        repositories: names.map((name) => ({ name, full_name: `${inst.account}/${name}`, private: true })),
      },
    };
  }

  private exchange(body: unknown): Handled {
    const { client_id, client_secret, code } = (body ?? {}) as Record<string, unknown>;
    const error = (error: string, error_description: string): Handled => ({
      status: 200,
      body: { error, error_description, error_uri: DOCS },
    });
    if (client_id !== this.options.clientId || client_secret !== this.options.clientSecret) {
      return error("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.");
    }
    const grant = typeof code === "string" ? this.codes.get(code) : undefined;
    if (typeof code === "string") this.codes.delete(code); // single use, even when expired
    if (!grant || grant.expiresAt <= this.now()) {
      return error("bad_verification_code", "The code passed is incorrect or expired.");
    }
    const token = randomToken("ghu_");
    const refresh = randomToken("ghr_");
    this.userTokens.set(token, grant.login);
    this.issued.push(token, refresh);
    return {
      status: 200,
      body: {
        access_token: token,
        expires_in: USER_TOKEN_TTL_S,
        refresh_token: refresh,
        refresh_token_expires_in: 6 * 30 * 24 * 3600,
        scope: "",
        token_type: "bearer",
      },
    };
  }

  /** The user behind a user-to-server token (`Bearer` or `token`), or GitHub's refusal. */
  private userOf(auth: string | null): StandInUser | Handled {
    const [scheme, token] = (auth ?? "").split(" ");
    const login = (scheme === "Bearer" || scheme === "token") && token ? this.userTokens.get(token) : undefined;
    if (!login) {
      if (token && this.minted.some((m) => m.token === token)) {
        return {
          status: 403,
          body: {
            message:
              "You must authenticate with an access token authorized to a GitHub App in order to list installations",
            documentation_url: DOCS,
          },
        };
      }
      return unauthorized("Bad credentials");
    }
    return (this.options.users ?? []).find((u) => u.login === login) ?? { login, installationIds: [] };
  }

  private userInstallations(auth: string | null, url: URL): Handled {
    const user = this.userOf(auth);
    if ("status" in user) return user;
    const all = this.installations().filter((i) => user.installationIds.includes(i.id));
    const { slice, headers } = paged(all, url);
    return {
      status: 200,
      body: { total_count: all.length, installations: slice.map((i) => this.installationJson(i)) },
      headers,
    };
  }

  private userInstallationRepos(auth: string | null, url: URL, id: number): Handled {
    const user = this.userOf(auth);
    if ("status" in user) return user;
    const inst = this.installations().find((i) => i.id === id && user.installationIds.includes(i.id));
    if (!inst) return notFound();
    const full = (name: string) => `${inst.account}/${name}`;
    const visible = inst.repos.filter((r) => !user.repos || user.repos.some((u) => same(u, full(r))));
    const { slice, headers } = paged(visible, url);
    return {
      status: 200,
      body: {
        total_count: visible.length,
        repository_selection: "selected",
        repositories: slice.map((name) => ({
          name,
          full_name: full(name),
          owner: { login: inst.account },
          private: true,
          permissions: { pull: true },
        })),
      },
      headers,
    };
  }

  private revoke(auth: string | null, clientId: string, body: unknown): Handled {
    const [scheme, credential] = (auth ?? "").split(" ");
    const expected = btoa(`${this.options.clientId}:${this.options.clientSecret}`);
    if (scheme !== "Basic" || credential !== expected || clientId !== this.options.clientId) {
      return notFound();
    }
    const { access_token, ...rest } = (body ?? {}) as Record<string, unknown>;
    if (typeof access_token !== "string" || Object.keys(rest).length > 0) return unprocessable("Invalid request.");
    if (!this.userTokens.delete(access_token)) return notFound();
    this.revokedUserTokens++;
    return { status: 204, body: null };
  }

  private installationJson(inst: StandInInstallation) {
    return {
      id: inst.id,
      account: { login: inst.account, type: "Organization" },
      app_id: Number(this.options.appId),
      app_slug: "artie-test",
      target_type: "Organization",
      repository_selection: "selected",
      permissions: inst.permissions ?? { contents: "read", metadata: "read" },
      events: [],
    };
  }
}

/** One page of `all` by `per_page`/`page` (GitHub's defaults and cap), with a Link header to the next. */
function paged<T>(all: T[], url: URL): { slice: T[]; headers: Record<string, string> } {
  const perPage = Math.min(Math.max(Number(url.searchParams.get("per_page") ?? 30) || 30, 1), 100);
  const page = Math.max(Number(url.searchParams.get("page") ?? 1) || 1, 1);
  const headers: Record<string, string> = {};
  if (page * perPage < all.length) {
    const next = new URL(url);
    next.searchParams.set("page", String(page + 1));
    headers.link = `<${next.toString()}>; rel="next"`;
  }
  return { slice: all.slice((page - 1) * perPage, page * perPage), headers };
}

function parseBody(text: string, contentType: string | null): unknown {
  if (text === "") return null;
  if (contentType?.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const isStringArray = (x: unknown): x is string[] => Array.isArray(x) && x.every((e) => typeof e === "string");
const notFound = (): Handled => ({ status: 404, body: { message: "Not Found", documentation_url: DOCS } });
const unauthorized = (message: string): Handled => ({ status: 401, body: { message, documentation_url: DOCS } });
const unprocessable = (message: string): Handled => ({ status: 422, body: { message, documentation_url: DOCS } });

const BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
function randomToken(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(36));
  return prefix + Array.from(bytes, (b) => BASE62[b % 62]).join("");
}

/** A fresh App key pair: the private key as PKCS#8 and PKCS#1 PEMs (as GitHub issues it), and the public key. */
export async function generateAppKeys(): Promise<{ publicKey: CryptoKey; pkcs8Pem: string; pkcs1Pem: string }> {
  const pair = await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  return {
    publicKey: pair.publicKey,
    pkcs8Pem: pem("PRIVATE KEY", pkcs8),
    pkcs1Pem: pem("RSA PRIVATE KEY", pkcs8ToPkcs1(pkcs8)),
  };
}

/** PrivateKeyInfo's last element, the OCTET STRING, holds the PKCS#1 RSAPrivateKey. */
function pkcs8ToPkcs1(der: Uint8Array): Uint8Array {
  const outer = tlv(der, 0);
  let at = outer.start;
  at = tlv(der, at).end; // version
  at = tlv(der, at).end; // algorithm
  const key = tlv(der, at);
  if (der[at] !== 0x04) throw new Error("not a PKCS#8 key");
  return der.slice(key.start, key.end);
}

function tlv(der: Uint8Array, at: number): { start: number; end: number } {
  const byte = (i: number) => {
    const b = der[i];
    if (b === undefined) throw new Error("truncated DER");
    return b;
  };
  let length = byte(at + 1);
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + byte(start + i);
    start += n;
  }
  return { start, end: start + length };
}

function pem(label: string, der: Uint8Array): string {
  let binary = "";
  for (const b of der) binary += String.fromCharCode(b);
  const lines = btoa(binary)
    .match(/.{1,64}/g)!
    .join("\n");
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}
