/**
 * A first sync of thousands of rooms leaves most of what it allocated as
 * garbage (at 10,000 rooms 150 MB of V8 heap beyond the 290 MB the rooms
 * keep). V8 returns it to the system only when its memory reducer runs,
 * 10–15 s after the burst; until then the bot's RSS reads as if each room
 * cost 40 % more. One last-resort collection (the kind V8 runs before
 * giving up on memory: a full GC that also releases the freed pages) a
 * moment after the first sync gives it back at once. It pauses the bot
 * once, for a few hundred milliseconds at 10,000 rooms.
 *
 * `gc` is V8's own function; without `--expose-gc` it is made available
 * through a fresh context once the flag is set, as Jest's leak detector does.
 */
import type { Logger } from "pino";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Gc = (options?: { type?: "major" | "minor"; execution?: "sync" | "async"; flavor?: "regular" | "last-resort" }) => void;

function v8Gc(): Gc | undefined {
  const exposed = (globalThis as { gc?: Gc }).gc;
  if (exposed) return exposed;
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as Gc;
  } catch {
    return undefined;
  }
}

/** Runs one full, memory-releasing collection and logs what it gave back. */
export function releaseStartupGarbage(logger: Logger): void {
  const gc = v8Gc();
  if (!gc) {
    logger.debug("no gc() available; V8 returns the first sync's memory on its own");
    return;
  }
  const mb = (n: number): number => Math.round(n / 2 ** 20);
  const before = process.memoryUsage();
  const t0 = performance.now();
  gc({ type: "major", execution: "sync", flavor: "last-resort" });
  const after = process.memoryUsage();
  logger.info(
    { rss_mb: mb(after.rss), rss_freed_mb: mb(before.rss - after.rss), heap_used_mb: mb(after.heapUsed), ms: Math.round(performance.now() - t0) },
    "first sync's garbage returned to the system",
  );
}
