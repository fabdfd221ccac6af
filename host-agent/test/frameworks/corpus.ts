/**
 * The framework corpus: the committed projects under fixtures/ (made by
 * scripts/make-framework-fixtures.sh, which says how and at which versions), each with what its
 * dev server's first page must contain. Shared by `npm run test:frameworks` and
 * `npm run bench:frameworks`. It holds no expectations about how the agent starts them: every
 * fixture is set up with no repo settings, as a new user's repo would be.
 */
import path from "node:path";

export const FIXTURES_DIR = path.join(import.meta.dirname, "fixtures");

export type CorpusEntry = {
  /** Folder under fixtures/, and the repo's name in the test (`corpus/<name>`). */
  name: string;
  /** What the project is, for reports. */
  label: string;
  /** The first page from its dev server contains this (the framework's own markup). */
  page: RegExp;
};

/** A page served by Vite's dev server: the template's mount point and Vite's client script. */
const viteSpa = (mount: string) => new RegExp(`^(?=[\\s\\S]*<div id="${mount}"></div>)(?=[\\s\\S]*/@vite/client)`);

export const CORPUS: CorpusEntry[] = [
  { name: "vite-react", label: "Vite 8 React (create-vite, npm)", page: viteSpa("root") },
  { name: "vite-vue", label: "Vite 8 Vue (create-vite, npm)", page: viteSpa("app") },
  { name: "sveltekit", label: "SvelteKit 2 (sv create, npm)", page: /Welcome to SvelteKit/ },
  // In dev, Astro marks elements with their source (data-astro-source-file, -loc).
  { name: "astro", label: "Astro 5 (minimal template by hand, npm)", page: /<h1[^>]*>Astro<\/h1>/ },
  { name: "nextjs", label: "Next.js 16 (create-next-app, npm)", page: /To get started, edit the/ },
  { name: "nuxt", label: "Nuxt 4 (v4 starter by hand, npm)", page: /<div id="__nuxt">/ },
  { name: "vite-react-pnpm", label: "Vite React, pnpm 10 pinned", page: viteSpa("root") },
  { name: "vite-react-yarn-classic", label: "Vite React, yarn 1 pinned", page: viteSpa("root") },
  { name: "vite-react-yarn-berry", label: "Vite React, yarn 4 (PnP) pinned", page: viteSpa("root") },
  {
    name: "express-localhost",
    label: "Express on 127.0.0.1:8080 only (by hand, npm)",
    page: /Hello from Express on 127\.0\.0\.1:8080/,
  },
];
