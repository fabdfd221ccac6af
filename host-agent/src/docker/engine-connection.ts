/**
 * Turns the parsed DOCKER_HOST (config.ts dockerEndpoint) into dockerode's connection options:
 * a unix socket, or TCP with mutual TLS from DOCKER_CERT_PATH's ca.pem, cert.pem and key.pem, the
 * docker CLI's layout. Every field is set, unset ones to undefined, because dockerode merges its
 * own reading of the process environment under whatever it is given: an agent told one engine
 * must never talk to another the environment names. Reads the certificates once, at start-up; it
 * leaves out ssh:// and TLS without verification, which config refuses.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type Docker from "dockerode";
import type { DockerEndpoint } from "../config.js";

export class EngineConnectionError extends Error {}

export function dockerodeOptions(endpoint: DockerEndpoint): Docker.DockerOptions {
  if (endpoint.kind === "socket")
    return { socketPath: endpoint.socketPath, host: undefined, port: undefined, protocol: undefined, ...noTls };
  const base = { socketPath: undefined, host: endpoint.host, port: endpoint.port };
  if (!endpoint.tls) return { ...base, protocol: "http", ...noTls };
  return { ...base, protocol: "https", ...readCertificates(endpoint.tls.certPath) };
}

const noTls = { ca: undefined, cert: undefined, key: undefined };

function readCertificates(dir: string): { ca: string; cert: string; key: string } {
  const read = (file: string) => {
    try {
      return readFileSync(path.join(dir, file), "utf8");
    } catch (err) {
      throw new EngineConnectionError(
        `DOCKER_TLS_VERIFY needs ${file} in DOCKER_CERT_PATH (${dir}): ${(err as Error).message}`,
        { cause: err },
      );
    }
  };
  return { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") };
}
