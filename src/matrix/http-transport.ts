import http from "node:http";
import https from "node:https";
import zlib from "node:zlib";

/**
 * The matrix-js-sdk's requests (sends, receipts, typing, /sync) over
 * node:http with keep-alive agents instead of the global fetch. undici's
 * fetch builds Request, Headers and Response objects and web streams for
 * every request: in the many-rooms bench it was the largest single CPU cost
 * per answer. Here a request with a string body (or none) is written with
 * node:http and its whole answer is handed back as one buffered Response,
 * which is all the SDK reads (status, headers, json/text/blob). Anything
 * else — a stream or binary body, a redirect to follow — goes to the global
 * fetch unchanged.
 *
 * Kept behind a mutable object so a bench can observe the requests.
 */
export const homeserverHttp: { fetch: typeof fetch } = { fetch: leanFetch };

// An idle kept-alive socket is closed after 4 s, as undici does: a proxy or
// NAT that drops idle connections sooner than the bot reuses them would
// otherwise turn the next send into a reset (or a stall until IDLE_TIMEOUT_MS).
// Node applies the agent's timeout to free sockets; a request sets its own.
const FREE_SOCKET_TIMEOUT_MS = 4_000;
const agents = {
  "http:": new http.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS }),
  "https:": new https.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS }),
};
/** undici's default headers and body timeouts: a stalled connection fails instead of hanging a send. */
const IDLE_TIMEOUT_MS = 300_000;
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

export function leanFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const url = typeof input === "string" ? URL.parse(input) : input instanceof URL ? input : null;
  const body = init?.body;
  const agent = url && (agents as Record<string, http.Agent | undefined>)[url.protocol];
  if (!url || !agent || (body !== undefined && body !== null && typeof body !== "string")) return globalThis.fetch(input, init);
  const signal = init?.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  const method = init?.method ?? "GET";
  const headers = plainHeaders(init?.headers);
  if (typeof body === "string") headers["content-length"] = String(Buffer.byteLength(body));
  const client = url.protocol === "https:" ? https : http;
  return new Promise<Response>((resolve, reject) => {
    const req = client.request(url, { method, headers, agent, timeout: IDLE_TIMEOUT_MS }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        // Redirects are rare for a homeserver's API: fetch follows them.
        res.resume();
        cleanup();
        resolve(globalThis.fetch(input, init));
        return;
      }
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", fail);
      res.on("end", () => {
        cleanup();
        try {
          resolve(toResponse(url.href, status, res.statusMessage ?? "", res.headers, Buffer.concat(chunks)));
        } catch (err) {
          reject(err);
        }
      });
    });
    const onAbort = (): void => {
      req.destroy();
      fail(abortReason(signal as AbortSignal));
    };
    const cleanup = (): void => signal?.removeEventListener("abort", onAbort);
    function fail(err: unknown): void {
      cleanup();
      reject(err instanceof Error || err instanceof DOMException ? err : new Error(String(err)));
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url.host} in ${IDLE_TIMEOUT_MS} ms`)));
    req.on("error", fail);
    req.end(body ?? undefined);
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}

function plainHeaders(given: RequestInit["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!given) return out;
  if (given instanceof Headers || Array.isArray(given)) {
    for (const [k, v] of given instanceof Headers ? given.entries() : given) if (k !== undefined && v !== undefined) out[k.toLowerCase()] = v;
    return out;
  }
  for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k.toLowerCase()] = String(v);
  return out;
}

function toResponse(href: string, status: number, statusText: string, raw: http.IncomingHttpHeaders, body: Buffer): Response {
  const headers = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  // No Accept-Encoding is sent; a proxy that compresses anyway is still read.
  const encoding = headers.get("content-encoding");
  if (encoding && encoding !== "identity") {
    body = encoding === "gzip" || encoding === "x-gzip" ? zlib.gunzipSync(body) : encoding === "br" ? zlib.brotliDecompressSync(body) : encoding === "deflate" ? zlib.inflateSync(body) : body;
    headers.delete("content-encoding");
    headers.delete("content-length");
  }
  return bufferedResponse(href, NULL_BODY_STATUS.has(status) ? Buffer.alloc(0) : body, { status, statusText, headers });
}

/**
 * A Response over a body already in memory: json() and text() decode the
 * buffer directly instead of through a web stream (a second cost per
 * request the SDK would otherwise pay); `body` is made on demand.
 */
function bufferedResponse(href: string, buffer: Buffer, init: ResponseInit): Response {
  const res = new Response(null, init);
  let held: Buffer | null = buffer;
  const take = (): Buffer => {
    if (held === null) throw new TypeError("Body is unusable: Body has already been read");
    const b = held;
    held = null;
    return b;
  };
  const text = (): Promise<string> => settle(() => take().toString("utf8"));
  const arrayBuffer = (): Promise<ArrayBuffer> =>
    settle(() => {
      const b = take();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    });
  Object.defineProperties(res, {
    // The SDK names the URL in its errors (MatrixError.url).
    url: { value: href },
    bodyUsed: { get: () => held === null },
    body: { get: () => (held && held.length > 0 ? new Response(take()).body : null) },
    text: { value: text },
    json: { value: async (): Promise<unknown> => JSON.parse(await text()) as unknown },
    arrayBuffer: { value: arrayBuffer },
    bytes: { value: async () => new Uint8Array(await arrayBuffer()) },
    blob: { value: async () => new Blob([await arrayBuffer()], { type: res.headers.get("content-type") ?? "" }) },
    clone: {
      value: (): Response => {
        if (held === null) throw new TypeError("Response.clone: Body has already been consumed.");
        return bufferedResponse(href, Buffer.from(held), { status: res.status, statusText: res.statusText, headers: new Headers(res.headers) });
      },
    },
  });
  return res;
}

function settle<T>(read: () => T): Promise<T> {
  try {
    return Promise.resolve(read());
  } catch (err) {
    return Promise.reject(err);
  }
}
