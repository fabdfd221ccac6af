/**
 * Bare git repos made from the committed framework fixtures, under a temp root the agent clones
 * from through GIT_REMOTE_TEMPLATE=file://<root>/{owner}/{repo}.git, as the setup tests'
 * fixture-repo.ts does for its generated repos. One commit on `main` holding the fixture's files
 * exactly as committed (the fixtures hold no node_modules or build output to leave out).
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { FIXTURES_DIR } from "./corpus.js";

const run = promisify(execFile);
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "corpus",
  GIT_AUTHOR_EMAIL: "corpus@test",
  GIT_COMMITTER_NAME: "corpus",
  GIT_COMMITTER_EMAIL: "corpus@test",
};
const git = (cwd: string, args: string[]) => run("git", args, { cwd, env: GIT_ENV });

export type CorpusRepos = {
  root: string;
  remoteTemplate: string;
  /** Makes `owner/repo` from fixtures/<fixture>; a second call for the same repo replaces it. */
  createRepo: (repo: string, fixture: string) => Promise<void>;
  dispose: () => Promise<void>;
};

/**
 * Repos under `root` (a fresh temp dir unless given: the bench shares fixture-repo.ts's root,
 * so one GIT_REMOTE_TEMPLATE serves its baseline repo and the corpus alike).
 */
export async function corpusRepos(under?: string): Promise<CorpusRepos> {
  const root = under ?? (await mkdtemp(path.join(tmpdir(), "artie-corpus-")));
  const createRepo = async (repo: string, fixture: string) => {
    const work = await mkdtemp(path.join(tmpdir(), "artie-corpus-work-"));
    try {
      await cp(path.join(FIXTURES_DIR, fixture), work, { recursive: true });
      await git(work, ["init", "--quiet", "--initial-branch=main"]);
      await git(work, ["add", "-A"]);
      await git(work, ["commit", "--quiet", "-m", `${fixture} as made by its create tool`]);
      const [owner, name] = repo.split("/") as [string, string];
      const bare = path.join(root, owner, `${name}.git`);
      await rm(bare, { recursive: true, force: true });
      await mkdir(path.dirname(bare), { recursive: true });
      await git(work, ["clone", "--quiet", "--bare", work, bare]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  };
  return {
    root,
    remoteTemplate: `file://${root}/{owner}/{repo}.git`,
    createRepo,
    dispose: () => rm(root, { recursive: true, force: true }),
  };
}
