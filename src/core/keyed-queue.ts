/**
 * Runs tasks one at a time per key, keys independent of each other: each
 * room's messages are handled in order, and a slow room holds up only itself.
 * A failing task does not break its queue (the dispatcher catches first).
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly depths = new Map<string, number>();

  run(key: string, task: () => Promise<void>): Promise<void> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    this.depths.set(key, (this.depths.get(key) ?? 0) + 1);
    const next = prev.then(task).catch(() => undefined).finally(() => {
      const left = (this.depths.get(key) ?? 1) - 1;
      if (left === 0) {
        this.depths.delete(key);
        if (this.tails.get(key) === next) this.tails.delete(key);
      } else this.depths.set(key, left);
    });
    this.tails.set(key, next);
    return next;
  }

  /** Tasks queued or running for a key. */
  depth(key: string): number {
    return this.depths.get(key) ?? 0;
  }

  /** Tasks queued or running in all keys. */
  totalDepth(): number {
    let n = 0;
    for (const d of this.depths.values()) n += d;
    return n;
  }

  /** Resolves when every queue is empty. */
  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
