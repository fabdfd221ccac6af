/**
 * Which requested images a setup or a create may start from. An image the agent built (a main
 * image: a base image plus one (tenant, repo)'s installed dependencies) holds that tenant's
 * dependencies, so only that tenant's setups of that repo may start from it; a create, which
 * knows no tenant, may start from none (the setup picks the main image itself). An image counts
 * as agent-built by its labels (`artie.managed`, `artie.tenant`, `artie.main-commit`, which an
 * image made `FROM` one inherits too) or by its name (`artie-main-*`, and the pre-tenancy
 * `<owner>-<repo>:main`: one name component tagged `main`), so a retag or a label-less look-alike
 * is refused as well. What it leaves out: images the agent did not build are the operator's and
 * the repo settings' business (any local image may be a base).
 */
import type { DockerClient } from "../docker/client.js";
import { LABEL } from "../docker/labels.js";
import { ARTIFACT_LABEL, belongsTo, mainImageTag } from "./artifact-names.js";
import { MAIN_LABELS } from "./main-image.js";

export type ImageOwner = { tenant: string; repo: string };

export type ImageOrigin =
  | { agentBuilt: false }
  /** `owned`: built for this owner; `base`: the image it was built on, when its labels say. */
  | { agentBuilt: true; owned: boolean; base: string | null };

/** Labels only the agent's own builds carry. */
const AGENT_LABELS = [LABEL.managed, ARTIFACT_LABEL.tenant, MAIN_LABELS.commit] as const;

/** Repository and tag of a reference (`registry:5000/a/b:tag@sha256:…` → `registry:5000/a/b`, `tag`). */
export function splitRef(ref: string): { repository: string; tag: string | null } {
  const name = ref.split("@")[0]!;
  const colon = name.lastIndexOf(":");
  if (colon > name.lastIndexOf("/")) return { repository: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repository: name, tag: null };
}

/** Whether a reference is named like a main image, of this agent's naming or the one before it. */
export function hasMainImageName(ref: string): boolean {
  const { repository, tag } = splitRef(ref);
  const last = repository.split("/").pop() ?? "";
  return last.startsWith("artie-main-") || (tag === "main" && !repository.includes("/"));
}

/** Whether `image` is one the agent built, and whether it is `owner`'s (null: nobody's). */
export async function imageOrigin(docker: DockerClient, image: string, owner: ImageOwner | null): Promise<ImageOrigin> {
  const labels = await docker.imageLabels(image);
  const labelled = labels !== null && AGENT_LABELS.some((k) => labels[k] !== undefined);
  if (!labelled && !hasMainImageName(image)) return { agentBuilt: false };
  // The name of the owner's own main image and its labels must agree: a name alone is no proof.
  const named = owner !== null && image === mainImageTag(owner.tenant, owner.repo);
  const owned = owner !== null && belongsTo(labels, owner.tenant, owner.repo) && (named || !hasMainImageName(image));
  return { agentBuilt: true, owned, base: labels?.[MAIN_LABELS.base] || null };
}

/** The setup's refusal of an image another tenant's (or repo's) build made. */
export const foreignImageMessage = (image: string) =>
  `The image ${image} belongs to another team or repository: the agent built it with that team's dependencies, ` +
  `so only that team's setups of that repository may start from it. Set a base image of your own in the repo's settings.`;

/** A create's refusal: no tenant is known there, so no agent-built image is allowed. */
export const agentBuiltImageMessage = (image: string) =>
  `The image ${image} is a main image the agent built (it holds one team's dependencies); a container cannot be ` +
  `created from one. Create it from a base image; a setup starts from the repo's main image itself.`;
