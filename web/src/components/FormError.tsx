/** An error under a form or control, announced to screen readers. */
export function FormError({ message, small = false }: { message: string | null; small?: boolean }) {
  if (!message) return null;
  return (
    <p className={small ? "form-error small" : "form-error"} role="alert">
      {message}
    </p>
  );
}
