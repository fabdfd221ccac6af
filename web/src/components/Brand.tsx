/** The product's mark and name, in the sidebar and on the sign-in card. */
export function Brand({ large = false }: { large?: boolean }) {
  return (
    <div className={large ? "brand brand-large" : "brand"}>
      <span className="brand-mark" aria-hidden>
        A
      </span>
      <div>
        <div className="brand-name">Artie</div>
        <div className="brand-sub">Docker host</div>
      </div>
    </div>
  );
}
