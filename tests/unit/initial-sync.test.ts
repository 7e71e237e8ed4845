import { describe, expect, it } from "vitest";
import { keepInitialSyncFilter } from "../../src/matrix/initial-sync.js";

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
