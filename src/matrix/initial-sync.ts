import { homeserverHttp } from "./http-transport.js";
import { slidingFirstSync, type SlidingFirstSyncOptions } from "./sliding-first-sync.js";

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
  prefetched?: InitialSyncPrefetch,
): typeof fetch {
  return (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : null;
    if (url?.includes("/sync?")) {
      const parsed = new URL(url);
      if (parsed.pathname.endsWith("/sync") && !parsed.searchParams.has("since")) {
        parsed.searchParams.set("filter", initialFilter);
        const fresh = (): Promise<Response> => inner(parsed.href, { ...init, signal: stop });
        // A prefetch that failed (a network error, a 429 or 502) costs nothing: the request goes out again now.
        const early = prefetched?.take(parsed);
        return early ? early.then((res) => (res.ok ? res : fresh()), fresh) : fresh();
      }
    }
    return inner(input, init);
  };
}

/**
 * The query matrix-js-sdk sends with a first /sync (`SyncApi.getSyncParams`
 * with presence disabled), less its cache buster; the filter is the bot's
 * initial one.
 */
const INITIAL_SYNC_QUERY: Record<string, string> = { timeout: "0", "org.matrix.msc4222.use_state_after": "true", set_presence: "offline" };

export interface InitialSyncPrefetch {
  /** The prefetched answer for the SDK's first /sync (`url`, filter already set), once; undefined if it does not match. */
  take(url: URL): Promise<Response> | undefined;
}

/**
 * Sends the first /sync of a bot without a saved sync position as soon as
 * it has its access token, instead of after the crypto, the filter upload
 * and the SDK's other start-up requests (≈0.3 s here): the homeserver
 * computes the answer (seconds to minutes for thousands of rooms) while the
 * bot gets ready to take it. The SDK's own first /sync is then answered
 * with it, if it asks the same query (otherwise, or if the prefetch failed,
 * it goes out as usual). Only the request is early: the answer is handled
 * when the SDK asks, after the crypto is up. With `sliding`, the answer is
 * loaded through sliding sync where the homeserver has it
 * (sliding-first-sync.ts), else by the classic request.
 */
export function prefetchInitialSync(
  o: {
    homeserverUrl: string;
    accessToken: string;
    initialFilter: string;
    stop: AbortSignal;
    onMismatch?: (url: URL) => void;
    sliding?: Pick<SlidingFirstSyncOptions, "botUserId" | "stateTypes" | "onFallback" | "onLoaded">;
  },
  inner: typeof fetch = (input, init) => homeserverHttp.fetch(input, init),
): InitialSyncPrefetch {
  const url = new URL(`${o.homeserverUrl.replace(/\/+$/, "")}/_matrix/client/v3/sync`);
  url.searchParams.set("filter", o.initialFilter);
  for (const [k, v] of Object.entries(INITIAL_SYNC_QUERY)) url.searchParams.set(k, v);
  // Its own signal: a prefetch the SDK will not take is dropped at once, not computed to the end.
  const own = new AbortController();
  const signal = AbortSignal.any([o.stop, own.signal]);
  const classic = (): Promise<Response> => inner(url.href, { headers: { Authorization: `Bearer ${o.accessToken}` }, signal });
  const sliding = o.sliding;
  let pending: Promise<Response> | undefined = sliding
    ? slidingFirstSync({ ...sliding, homeserverUrl: o.homeserverUrl, accessToken: o.accessToken, signal }, inner).then((res) => res ?? classic())
    : classic();
  pending.catch(() => undefined); // a failure is seen by take(), or never matters
  return {
    take(sdkUrl) {
      const answer = pending;
      pending = undefined;
      if (!answer) return undefined;
      const query = [...sdkUrl.searchParams].filter(([k]) => k !== "_cacheBuster");
      const same = sdkUrl.pathname === url.pathname && query.length === [...url.searchParams].length && query.every(([k, v]) => url.searchParams.get(k) === v);
      if (same) return answer;
      own.abort();
      o.onMismatch?.(sdkUrl);
      return undefined;
    },
  };
}
