import { Link } from "react-router";
import { EmptyState } from "../../components/States";

export function NotFoundPage() {
  return (
    <EmptyState title="Nothing here" action={<Link to="/environments">Go to environments</Link>}>
      This page does not exist.
    </EmptyState>
  );
}
