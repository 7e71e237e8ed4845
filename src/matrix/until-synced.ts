/**
 * Waits for what only a later sync shows (a new room's encryption state, an
 * owner's invite): polls `check` until it gives a value, or gives undefined
 * once `timeoutMs` has passed.
 */
export async function untilSynced<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
