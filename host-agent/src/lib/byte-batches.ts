/**
 * Splitting a list of argv items into batches of bounded bytes, so a command given many paths
 * runs as several under the kernel's argv limit. Leaves out running them (the callers').
 */
/** `items` in order, in batches of at most `maxBytes` (each item counted with its NUL); an item larger alone is a batch of its own. */
export function byteBatches(items: string[], maxBytes: number): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(item) + 1;
    if (batch.length > 0 && bytes + size > maxBytes) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
