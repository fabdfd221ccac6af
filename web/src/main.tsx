/** Entry point: connects to the Convex deployment named in the environment, or says how to. */
import { ConvexReactClient } from "convex/react";
import { createRoot } from "react-dom/client";
import { Root } from "./Root";
import { MissingDeployment } from "./pages/MissingDeploymentPage/MissingDeploymentPage";
import "./styles/global.css";

const env = import.meta.env as Record<string, string | undefined>;
const url = env.VITE_CONVEX_URL ?? env.CONVEX_URL ?? env.CONVEX_SELF_HOSTED_URL;
const root = createRoot(document.getElementById("root")!);

if (url) root.render(<Root client={new ConvexReactClient(url)} />);
else root.render(<MissingDeployment />);
