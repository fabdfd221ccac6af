/** Runs tasks one at a time per key (e.g. installs into one dependency volume). */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Whether a task for `key` is running or queued (to skip work already under way). */
  isHeld(key: string): boolean {
    return this.tails.has(key);
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
