import { homeserverHttp } from "./http-transport.js";

/**
 * matrix-js-sdk sends its first /sync with an inline filter of
 * `initialSyncLimit` events per room, but when that request fails (a large
 * account on a slow homeserver outlasts the SDK's 80 s client timeout, a
 * proxy answers 502), it retries the initial sync with the regular filter:
 * up to SYNC_TIMELINE_LIMIT events of history per room, all held in memory
 * and recorded in the ledger. This fetch keeps the initial filter on every
 * /sync without a `since` token; being the same request, a retry is also
 * answered by Synapse from the computation already under way (its sync
 * response cache is keyed by the filter).
 *
 * The initial sync is also not given up after the SDK's 80 s: a large
 * account takes Synapse longer than that (90 s for 10,000 rooms here), and
 * each timeout cost a retry after the SDK's backoff and connectivity checks
 * (start-up 1.24× the raw sync). The request keeps only the SDK's abort
 * when the client stops (`running()` false); a dead connection still fails
 * on the transport's stall timeout. Requests go on to `inner`, by default
 * the bot's lean HTTP transport (http-transport.ts).
 */
export function keepInitialSyncFilter(
  initialFilter: string,
  inner: typeof fetch = (input, init) => homeserverHttp.fetch(input, init),
  running: () => boolean = () => true,
): typeof fetch {
  return (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : null;
    if (url?.includes("/sync?")) {
      const parsed = new URL(url);
      if (parsed.pathname.endsWith("/sync") && !parsed.searchParams.has("since")) {
        parsed.searchParams.set("filter", initialFilter);
        return inner(parsed.href, { ...init, signal: abortedOnlyOnStop(init?.signal, running) });
      }
    }
    return inner(input, init);
  };
}

/** A signal that follows `signal` only when the client is stopping: the SDK's own timeout is not one. */
function abortedOnlyOnStop(signal: AbortSignal | null | undefined, running: () => boolean): AbortSignal | null {
  if (!signal) return null;
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener("abort", () => void (running() || controller.abort(signal.reason)), { once: true });
  return controller.signal;
}
