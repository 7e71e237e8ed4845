/**
 * Counts a child's client-server requests by kind ("PUT rooms/{r}/send/m.room.message")
 * through a fetch wrapper, so a bench can compare what the bot and the floor
 * client ask of the homeserver per answer. The parent reads and resets the
 * counts over IPC ("requests").
 */

const counts = new Map<string, number>();

/** The request's kind: method and path with ids, tokens and the query left out. */
export function requestKind(method: string, url: string): string {
  const path = new URL(url).pathname
    .replace(/^\/_matrix\/(client|media)\/(v\d+|r0|unstable)\//, "")
    .replace(/^\/_matrix\/client\/versions$/, "versions")
    .replace(/\/rooms\/[^/]+/, "/rooms/{r}")
    .replace(/^rooms\/[^/]+/, "rooms/{r}")
    .replace(/\/(send|redact)\/([^/]+)\/[^/]+$/, "/$1/$2/{txn}")
    .replace(/\/receipt\/([^/]+)\/[^/]+$/, "/receipt/$1/{e}")
    .replace(/\/(typing|profile|members)\/[^/]+/, "/$1/{u}")
    .replace(/^(typing|profile)\/[^/]+/, "$1/{u}")
    .replace(/\/state\/([^/]+)\/[^/]*$/, "/state/$1/{k}")
    .replace(/^user\/[^/]+/, "user/{u}")
    .replace(/\/filter\/[^/]+$/, "/filter/{id}")
    .replace(/\/(event|context)\/[^/]+$/, "/$1/{e}")
    .replace(/^(download|thumbnail)\/.+$/, "$1/{media}");
  return `${method} ${path}`;
}

/**
 * Wraps the global fetch (or another holder of a fetch, as the bot's
 * homeserver transport) once; later wrappers (the bot child's trace) sit on top.
 */
export function countRequests(target: { fetch: typeof fetch } = globalThis): void {
  const inner = target.fetch;
  target.fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    const kind = requestKind(method, url);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    return inner(input, init);
  };
}

/** The counts since the last call, and a fresh start. */
export function takeRequestCounts(): Record<string, number> {
  const out = Object.fromEntries(counts);
  counts.clear();
  return out;
}
