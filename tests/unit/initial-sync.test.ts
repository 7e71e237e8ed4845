import { describe, expect, it } from "vitest";
import { keepInitialSyncFilter, prefetchInitialSync } from "../../src/matrix/initial-sync.js";

const INITIAL = JSON.stringify({ room: { timeline: { limit: 1 } } });

describe("keepInitialSyncFilter", () => {
  const urls: (string | URL)[] = [];
  const inner: typeof fetch = (input) => {
    urls.push(input instanceof Request ? input.url : input);
    return Promise.resolve(new Response("{}"));
  };
  const seen = (): (string | URL)[] => {
    urls.length = 0;
    return urls;
  };

  it("gives a retried initial sync (no since, the stored filter id) the initial filter", async () => {
    const urls = seen();
    await keepInitialSyncFilter(INITIAL, new AbortController().signal, inner)(new URL("http://hs/_matrix/client/v3/sync?filter=1&timeout=0"));
    expect(new URL(urls[0] ?? "").searchParams.get("filter")).toBe(INITIAL);
  });

  it("leaves incremental syncs and other requests as they are", async () => {
    const urls = seen();
    const fetchFn = keepInitialSyncFilter(INITIAL, new AbortController().signal, inner);
    await fetchFn("http://hs/_matrix/client/v3/sync?filter=1&since=s1_2&timeout=30000");
    await fetchFn(new URL("http://hs/_matrix/client/v3/rooms/!r/messages?filter=1"));
    expect(urls).toEqual(["http://hs/_matrix/client/v3/sync?filter=1&since=s1_2&timeout=30000", new URL("http://hs/_matrix/client/v3/rooms/!r/messages?filter=1")]);
  });
});

describe("the initial sync and the SDK's client timeout", () => {
  const initial = "http://hs/_matrix/client/v3/sync?filter=1&timeout=0";
  const signals: (AbortSignal | null | undefined)[] = [];
  const inner: typeof fetch = (_input, init) => {
    signals.push(init?.signal);
    return Promise.resolve(new Response("{}"));
  };

  it("outlives the SDK's timeout, and still stops when the bot stops, also after the SDK's signal fired", async () => {
    const stop = new AbortController();
    const fetchFn = keepInitialSyncFilter(INITIAL, stop.signal, inner);
    const sdk = new AbortController();
    await fetchFn(initial, { signal: sdk.signal });
    const given = signals.at(-1)!;
    sdk.abort(); // the SDK's 80 s timeout
    expect(given.aborted).toBe(false);
    stop.abort(); // the bot stops syncing
    expect(given.aborted).toBe(true);
  });

  it("leaves the signal of an incremental sync to the SDK", async () => {
    const sdk = new AbortController();
    await keepInitialSyncFilter(INITIAL, new AbortController().signal, inner)("http://hs/_matrix/client/v3/sync?filter=1&since=s1&timeout=30000", { signal: sdk.signal });
    expect(signals.at(-1)).toBe(sdk.signal);
  });
});

describe("the first /sync sent early (prefetchInitialSync)", () => {
  const SDK_FIRST = "http://hs/_matrix/client/v3/sync?filter=7&timeout=0&org.matrix.msc4222.use_state_after=true&set_presence=offline&_cacheBuster=1733300000000";

  function recording(answers: (() => Promise<Response>)[]) {
    const sent: { url: string; auth: string | null }[] = [];
    const inner: typeof fetch = (input, init) => {
      sent.push({ url: input instanceof Request ? input.url : input.toString(), auth: new Headers(init?.headers).get("authorization") });
      return (answers.shift() ?? (() => Promise.resolve(new Response('{"next_batch":"fresh"}'))))();
    };
    return { sent, inner };
  }

  it("asks the homeserver at once and answers the SDK's first /sync with it, without a second request", async () => {
    const { sent, inner } = recording([() => Promise.resolve(new Response('{"next_batch":"early"}'))]);
    const stop = new AbortController();
    const prefetched = prefetchInitialSync({ homeserverUrl: "http://hs/", accessToken: "tok", initialFilter: INITIAL, stop: stop.signal }, inner);
    expect(sent).toHaveLength(1);
    const early = new URL(sent[0]?.url ?? "");
    expect(early.pathname).toBe("/_matrix/client/v3/sync");
    expect(early.searchParams.get("filter")).toBe(INITIAL);
    expect(sent[0]?.auth).toBe("Bearer tok");
    const fetchFn = keepInitialSyncFilter(INITIAL, stop.signal, inner, prefetched);
    expect(await (await fetchFn(SDK_FIRST)).json()).toEqual({ next_batch: "early" });
    expect(sent).toHaveLength(1);
    // Only once: a retried first sync goes out again.
    expect(await (await fetchFn(SDK_FIRST)).json()).toEqual({ next_batch: "fresh" });
    expect(sent).toHaveLength(2);
  });

  it("sends the SDK's request after all when the early one failed or was answered with an error", async () => {
    for (const failure of [() => Promise.reject(new TypeError("connection reset")), () => Promise.resolve(new Response("{}", { status: 502 }))]) {
      const { sent, inner } = recording([failure]);
      const stop = new AbortController().signal;
      const fetchFn = keepInitialSyncFilter(INITIAL, stop, inner, prefetchInitialSync({ homeserverUrl: "http://hs", accessToken: "tok", initialFilter: INITIAL, stop }, inner));
      expect(await (await fetchFn(SDK_FIRST)).json()).toEqual({ next_batch: "fresh" });
      expect(sent).toHaveLength(2);
    }
  });

  it("does not answer a first /sync whose query differs (another SDK version), and says so", async () => {
    const { sent, inner } = recording([() => Promise.resolve(new Response('{"next_batch":"early"}'))]);
    const stop = new AbortController().signal;
    const mismatches: URL[] = [];
    const prefetched = prefetchInitialSync({ homeserverUrl: "http://hs", accessToken: "tok", initialFilter: INITIAL, stop, onMismatch: (u) => mismatches.push(u) }, inner);
    const fetchFn = keepInitialSyncFilter(INITIAL, stop, inner, prefetched);
    expect(await (await fetchFn("http://hs/_matrix/client/v3/sync?filter=7&timeout=0&set_presence=offline")).json()).toEqual({ next_batch: "fresh" });
    expect(sent).toHaveLength(2);
    expect(mismatches).toHaveLength(1);
  });

  it("drops the early request when the SDK asks a different query", async () => {
    const signals: (AbortSignal | null | undefined)[] = [];
    const stop = new AbortController().signal;
    const inner: typeof fetch = (_i, init) => {
      signals.push(init?.signal);
      return signals.length === 1 ? new Promise<Response>(() => undefined) : Promise.resolve(new Response("{}"));
    };
    const fetchFn = keepInitialSyncFilter(INITIAL, stop, inner, prefetchInitialSync({ homeserverUrl: "http://hs", accessToken: "tok", initialFilter: INITIAL, stop }, inner));
    await fetchFn("http://hs/_matrix/client/v3/sync?filter=7&timeout=0");
    expect(signals[0]?.aborted).toBe(true);
  });

  it("is aborted when the bot stops before the SDK asks", () => {
    const signals: (AbortSignal | null | undefined)[] = [];
    const stop = new AbortController();
    prefetchInitialSync({ homeserverUrl: "http://hs", accessToken: "tok", initialFilter: INITIAL, stop: stop.signal }, (_i, init) => {
      signals.push(init?.signal);
      return new Promise<Response>(() => undefined);
    });
    stop.abort();
    expect(signals[0]?.aborted).toBe(true);
  });
});
