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
 * (start-up 1.24× the raw sync). The request follows `stop` instead of the
 * SDK's signal (which carries both the client's stop and its timeout, and
 * fires only once): the bot aborts `stop` when it stops syncing. A dead
 * connection still fails on the transport's stall timeout. Requests go on
 * to `inner`, by default the bot's lean HTTP transport (http-transport.ts).
 */
export function keepInitialSyncFilter(
  initialFilter: string,
  stop: AbortSignal,
  inner: typeof fetch = (input, init) => homeserverHttp.fetch(input, init),
): typeof fetch {
  return (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : null;
    if (url?.includes("/sync?")) {
      const parsed = new URL(url);
      if (parsed.pathname.endsWith("/sync") && !parsed.searchParams.has("since")) {
        parsed.searchParams.set("filter", initialFilter);
        return inner(parsed.href, { ...init, signal: stop });
      }
    }
    return inner(input, init);
  };
}
