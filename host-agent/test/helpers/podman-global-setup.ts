/**
 * Before the tests of vitest project `podman`: Podman's Docker API running with the test images
 * (scripts/ensure-podman.sh, through engines.ts), this process pointed at it (DOCKER_HOST, which
 * the tests' Docker client and their agents read), then the Docker project's own checks and
 * clean-up on that engine (global-setup.ts, imported only once DOCKER_HOST is set: its Docker
 * client reads the variable when it is made). A machine that cannot run podman fails the run
 * with the reason: the project is asked for, so a silent skip would hide that it did not run.
 */
import { PODMAN_DOCKER_HOST, startPodmanEngine } from "./engines.js";

export default async function setup() {
  const started = await startPodmanEngine();
  if ("unavailable" in started) throw new Error(`Podman cannot run here: ${started.unavailable}`);
  process.env.DOCKER_HOST = PODMAN_DOCKER_HOST;
  delete process.env.DOCKER_TLS_VERIFY;
  delete process.env.DOCKER_CERT_PATH;
  const { default: dockerSetup } = await import("./global-setup.js");
  return dockerSetup();
}
