/**
 * How the corpus runs the agent: production limits and isolation (the environment's own network,
 * egress through the agent's proxy), the test image, the registry this machine uses as the only
 * allowed egress host, the host's CA bundle for TLS-inspecting proxies, and phase deadlines
 * bounded so a fixture that cannot start fails within minutes. No repo settings are ever sent:
 * the agent must find out by itself how each project starts. Shared by the test and the bench.
 */
import { NODE_IMAGE } from "../helpers/images.js";
import { FIXTURES_DIR } from "./corpus.js";
import { extraCaBundle, lockfileHosts, registryCidrs, registryHost } from "./registry.js";

/**
 * Preview host names are `<port>-<containerId>.<PREVIEW_DOMAIN>` (issue 18). `.test` is reserved
 * (RFC 2606): nothing outside this machine ever resolves it.
 */
export const PREVIEW_DOMAIN = "preview.test";
/** The port every environment's dev server is expected on (the create default). */
export const ENVIRONMENT_PORT = 3000;
/** Agent deadline for one install from the registry: a cold Next.js or Nuxt install fits easily. */
export const CORPUS_INSTALL_TIMEOUT_MS = 150_000;
/** Agent deadline for the dev server to answer: Nuxt's first start is the slowest (~30 s). */
export const CORPUS_START_TIMEOUT_MS = 90_000;
/**
 * How long a test or bench waits for `ready` or `error`: past both agent deadlines and a clone,
 * so a failing fixture ends with the agent's own error message, not a wait that ran out.
 */
export const FIXTURE_SETUP_TIMEOUT_MS = 270_000;

export const previewHost = (containerId: string, port = ENVIRONMENT_PORT) => `${port}-${containerId}.${PREVIEW_DOMAIN}`;

/** The agent's environment for a corpus run, on top of each caller's port and secret. */
export async function corpusAgentEnv(opts: { remoteTemplate: string; dataDir: string }) {
  const ca = await extraCaBundle();
  const hosts = [...new Set([await registryHost(), ...(await lockfileHosts(FIXTURES_DIR))])];
  return {
    DEFAULT_IMAGE: NODE_IMAGE,
    GIT_REMOTE_TEMPLATE: opts.remoteTemplate,
    DATA_DIR: opts.dataDir,
    EGRESS_ALLOWLIST: hosts.join(","),
    EGRESS_ALLOWED_CIDRS: (await registryCidrs(hosts)).join(","),
    ...(ca ? { EXTRA_CA_CERTS: ca } : {}),
    PREVIEW_DOMAIN,
    // Production's defaults (an empty value means "unset"), not the small test limits.
    CONTAINER_MEMORY_MB: "",
    CONTAINER_CPUS: "",
    CONTAINER_PIDS_LIMIT: "",
    TMP_TMPFS_MB: "",
    SETUP_INSTALL_TIMEOUT_MS: String(CORPUS_INSTALL_TIMEOUT_MS),
    SETUP_START_TIMEOUT_MS: String(CORPUS_START_TIMEOUT_MS),
  };
}
