/**
 * The container resource: list, get, create, exec, restart, stop, start, delete, setup and
 * redeploy (accepted at once, progress by callbacks). Each handler parses its input with the contract, calls the
 * service (or the setup layer, for what brings a dev server back) and answers; errors go to the
 * app's onError. A container's list entry and details carry the repo and branch of its last
 * successful setup, read from the agent's record of it (setup/run-marker.ts).
 */
import { Hono } from "hono";
import {
  type ContainerDetails,
  ContainerId,
  CreateContainerRequest,
  ExecRequest,
  RedeployRequest,
  SetupRequest,
  StartContainerRequest,
  StopContainerRequest,
} from "../api/contract.js";
import { parseOr400, readJson } from "../api/errors.js";
import { DELETE_WAITS_FOR_OPERATION_MS, type Config } from "../config.js";
import type { ActivityLog } from "../containers/activity.js";
import type { ExecRunner } from "../containers/exec-runner.js";
import type { ContainerService } from "../containers/service.js";
import type { Redeployer } from "../setup/redeploy.js";
import type { Relauncher } from "../setup/relaunch.js";
import { readRun } from "../setup/run-marker.js";
import type { SetupRunner } from "../setup/runner.js";

const IdempotencyKey = ContainerId.optional();

export function containerRoutes(deps: {
  config: Config;
  containers: ContainerService;
  exec: ExecRunner;
  setup: SetupRunner;
  relaunch: Relauncher;
  redeploy: Redeployer;
  activity: ActivityLog;
}) {
  const { containers, relaunch } = deps;
  const idParam = (raw: string) => parseOr400(ContainerId, raw, "container id");
  /** The repo and branch of the last setup that reached `ready`; null for none. */
  const withSource = async (d: ContainerDetails): Promise<ContainerDetails> => {
    const run = await readRun(deps.config.dataDir, d.id);
    return { ...d, repo: run?.repo ?? null, branch: run?.branch ?? null };
  };

  return (
    new Hono()
      .get("/", async (c) => c.json({ containers: await Promise.all((await containers.list()).map(withSource)) }))
      .post("/", async (c) => {
        const body = parseOr400(CreateContainerRequest, await readJson(c), "body");
        const key = parseOr400(IdempotencyKey, c.req.header("idempotency-key"), "Idempotency-Key header");
        const result = await containers.create(body, key);
        return c.json(result, result.created ? 201 : 200);
      })
      .get("/:id", async (c) => c.json(await withSource(await containers.get(idParam(c.req.param("id"))))))
      .delete("/:id", async (c) => {
        const id = idParam(c.req.param("id"));
        await relaunch.remove(id, DELETE_WAITS_FOR_OPERATION_MS);
        return c.json({ id, removed: true as const });
      })
      // Without a body, as the seed API has it (200): the container restarts, and its dev server
      // comes back with the settings of its last ready when the agent kept them. With a start
      // body, with the settings given (202). Either way callbacks follow, and one operation at a
      // time (relaunch.ts).
      .post("/:id/restart", async (c) => {
        const id = idParam(c.req.param("id"));
        if ((await c.req.text()).trim() === "") return c.json(await relaunch.restartOnly(id));
        const body = parseOr400(StartContainerRequest, await readJson(c), "body");
        return c.json(await relaunch.restart(id, body), 202);
      })
      // No body stops it outright; the reaper's `unlessUsedAfter` keeps one used since (409 in_use).
      .post("/:id/stop", async (c) => {
        const id = idParam(c.req.param("id"));
        const body = parseOr400(StopContainerRequest, await readJson(c), "body");
        return c.json(await relaunch.stop(id, body));
      })
      .post("/:id/start", async (c) => {
        const id = idParam(c.req.param("id"));
        const body = parseOr400(StartContainerRequest, await readJson(c), "body");
        return c.json(await relaunch.start(id, body), 202);
      })
      // Its own route rather than a second setup of the id: it updates the workspace in place and
      // may refuse (409 uncommitted_changes) before anything changed (contract.ts, redeploy.ts).
      .post("/:id/redeploy", async (c) => {
        const id = idParam(c.req.param("id"));
        const body = parseOr400(RedeployRequest, await readJson(c), "body");
        return c.json(await deps.redeploy.redeploy(id, body), 202);
      })
      .post("/:id/setup", async (c) => {
        const id = idParam(c.req.param("id"));
        const body = parseOr400(SetupRequest, await readJson(c), "body");
        await deps.setup.start(id, body);
        return c.json({ id, accepted: true as const }, 202);
      })
      .post("/:id/exec", async (c) => {
        const id = idParam(c.req.param("id"));
        const body = parseOr400(ExecRequest, await readJson(c), "body");
        const run = async (dockerId: string) => {
          // An exec is use: at its start, and again at the end of a long one.
          deps.activity.record(id);
          try {
            return await deps.exec.run(dockerId, body);
          } finally {
            deps.activity.record(id);
          }
        };
        return c.json(await containers.withDockerId(id, run));
      })
  );
}
