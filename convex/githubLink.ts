/**
 * The `state` that binds the GitHub App's setup redirect to the admin who started it: random,
 * returned once (inside the install link), stored only as its SHA-256 hex with the user, team and
 * an expiry, and accepted once. These helpers make and check it; the table and the functions
 * that store and consume it (installLinkStates) live with the teams code.
 * Leaves out: storage, the redirect route, the code exchange (githubApp.ts).
 */
import { INSTALL_LINK_STATE_TTL_MS } from "./limits";

/** 32 random bytes, base64url: unguessable, and safe in a URL without escaping. */
export function newInstallState(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** What is stored instead of the state: its SHA-256, hex. Looked up by index, so no compare is needed. */
export async function hashInstallState(state: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(state));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** When a state made now stops being accepted. */
export function installStateExpiresAt(nowMs = Date.now()): number {
  return nowMs + INSTALL_LINK_STATE_TTL_MS;
}

/** A state as it arrives on the redirect: the shape newInstallState makes, else refused before any lookup. */
export function isWellFormedInstallState(state: unknown): state is string {
  return typeof state === "string" && /^[A-Za-z0-9_-]{43}$/.test(state);
}

/** The setup redirect's `installation_id`, as GitHub sends it (a positive decimal integer). */
export function parseInstallationId(raw: unknown): number | null {
  if (typeof raw !== "string" || !/^[1-9]\d{0,15}$/.test(raw)) return null;
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : null;
}
