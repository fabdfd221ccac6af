/** The repo's prebuilt main image: which commit, how old, how long it took to build. */
import type { Doc } from "@convex/_generated/dataModel";
import { formatAgo, formatDuration, shortSha } from "../../lib/format";

export function MainImageState({ repo, now }: { repo: Doc<"repos">; now: number }) {
  const image = repo.mainImage;
  if (!image) {
    return <span className="muted">Not built yet: the first setup of {repo.defaultBranch} builds it.</span>;
  }
  return (
    <span className="main-image">
      <span className="mono">{image.tag}</span>
      <span className="chip mono" title={image.commit}>
        {shortSha(image.commit)}
      </span>
      <span className="muted">
        built {formatAgo(image.builtAt, now)}
        {image.buildMs !== undefined && ` in ${formatDuration(image.buildMs)}`}
      </span>
    </span>
  );
}
