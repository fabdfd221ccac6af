/**
 * Where the agent itself connects to an environment's published port (setup's readiness probe,
 * and whatever checks the port later through the URL that probe answered on).
 *
 * - With isolation the agent's own port forwarder publishes the port (network/port-forwarder.ts),
 *   on PUBLISH_ADDRESS of this machine: loopback when that is a wildcard.
 * - Otherwise Docker publishes it on PUBLISH_ADDRESS of the engine's host. A named address is
 *   that host's, so it is used as it is (config refuses a loopback one on another host); for a
 *   wildcard, loopback when the engine is on this machine (a unix socket, or tcp:// to loopback or
 *   an address of this machine), else the engine's host as DOCKER_HOST names it (Docker-in-Docker
 *   over TLS: tcp://docker:2376 -> docker).
 *
 * Chosen over the container's own address on a network the agent shares: that needs the agent to
 * find its own networks and join the environment's, and checks a path no client uses. The engine
 * host's published port is where the URL the agent reports points (config.ts publicHost), so the
 * probe checks what a client will reach. The reported URL's host is config's publicHost, not
 * this: a client may need another name (PUBLIC_HOST) than the agent does.
 */
import { isWildcardAddress, type Config } from "../config.js";

export function publishedPortHost(config: Pick<Config, "publishAddress" | "isolation" | "docker">): string {
  const { publishAddress, docker } = config;
  const loopbackOrNamed = isWildcardAddress(publishAddress) ? "127.0.0.1" : publishAddress;
  if (config.isolation.enabled || !isWildcardAddress(publishAddress)) return loopbackOrNamed;
  return docker.kind === "tcp" && !docker.onThisMachine ? docker.host : "127.0.0.1";
}

/** A host as a URL names it: an IPv6 literal in brackets. */
export const urlHost = (host: string) => (host.includes(":") ? `[${host}]` : host);
