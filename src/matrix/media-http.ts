/**
 * The homeserver's media repository over plain HTTP, so bodies stream both
 * ways: download through the authenticated media API (Synapse ≥ 1.120 serves
 * new media only there), upload through /_matrix/media/v3/upload.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { Logger } from "pino";

export interface MediaHttpOptions {
  homeserverUrl: string;
  accessToken: () => string | null;
  logger: Logger;
  fetch?: typeof fetch;
}

/** Used when the homeserver does not say (Synapse's default max_upload_size). */
export const FALLBACK_UPLOAD_LIMIT = 50 * 1024 * 1024;

export class MediaHttpError extends Error {
  override readonly name = "MediaHttpError";
  constructor(
    readonly status: number,
    readonly errcode: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export function parseMxc(uri: string): { server: string; mediaId: string } | null {
  const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(uri);
  return m?.[1] && m[2] ? { server: m[1], mediaId: m[2] } : null;
}

export class MediaHttp {
  private uploadLimit: Promise<number> | null = null;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: MediaHttpOptions) {
    this.fetch = opts.fetch ?? globalThis.fetch;
  }

  /** `m.upload.size` from /_matrix/client/v1/media/config, fetched once (a failure is retried next time). */
  serverUploadLimit(): Promise<number> {
    this.uploadLimit ??= this.request("GET", "/_matrix/client/v1/media/config")
      .then(async (res) => {
        const body = (await res.json()) as { "m.upload.size"?: unknown };
        const size = body["m.upload.size"];
        return typeof size === "number" && size > 0 ? size : FALLBACK_UPLOAD_LIMIT;
      })
      .catch((err: unknown) => {
        this.uploadLimit = null;
        this.opts.logger.warn({ err }, "could not read the homeserver's media config; assuming 50 MiB");
        return FALLBACK_UPLOAD_LIMIT;
      });
    return this.uploadLimit;
  }

  /** Opens a download; the caller consumes (or destroys) the stream. */
  async download(mxc: string): Promise<{ body: Readable; length: number | null }> {
    const parsed = parseMxc(mxc);
    if (!parsed) throw new MediaHttpError(0, undefined, `not an mxc URI: ${mxc}`);
    const path = `/_matrix/client/v1/media/download/${encodeURIComponent(parsed.server)}/${encodeURIComponent(parsed.mediaId)}`;
    const res = await this.request("GET", path);
    if (!res.body) throw new MediaHttpError(res.status, undefined, "download without a body");
    const length = Number(res.headers.get("content-length"));
    return { body: Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), length: Number.isFinite(length) && res.headers.has("content-length") ? length : null };
  }

  /**
   * Streams `size` bytes from `body` to the media repository; resolves with
   * the mxc URI. node:http with pipeline() rather than fetch: fetch drains a
   * stream body faster than the socket sends it, so a large file piled up in
   * memory; pipeline reads only as the socket drains.
   */
  async upload(body: Readable, size: number, mime: string, filename: string): Promise<string> {
    // An empty filename is left out (encrypted uploads keep the name inside the event).
    const url = new URL(`/_matrix/media/v3/upload${filename ? `?filename=${encodeURIComponent(filename)}` : ""}`, this.opts.homeserverUrl);
    const token = this.opts.accessToken();
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, {
      method: "POST",
      headers: { "Content-Type": mime, "Content-Length": String(size), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once("response", resolve);
      req.once("error", reject);
    });
    // When the body fails, pipeline's error is the one reported; the request's own rejection is expected then.
    response.catch(() => undefined);
    // A network failure surfaces as the TypeError fetch would raise, so callers retry both alike.
    await pipeline(body, exactly(size), req).catch((err: unknown) => {
      req.destroy();
      throw new TypeError(`upload failed: ${err instanceof Error ? err.message : String(err)}`);
    });
    const res = await response;
    const text = await readAll(res);
    let json: { content_uri?: unknown; errcode?: string } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      // not JSON: handled by the checks below
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw new MediaHttpError(status, json.errcode, `POST /_matrix/media/v3/upload → ${status} ${json.errcode ?? ""}`.trim());
    if (typeof json.content_uri !== "string") throw new MediaHttpError(status, undefined, "upload answer without content_uri");
    return json.content_uri;
  }

  private async request(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const token = this.opts.accessToken();
    const res = await this.fetch(new URL(path, this.opts.homeserverUrl), {
      ...init,
      method,
      headers: { ...(init.headers as Record<string, string> | undefined), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      let errcode: string | undefined;
      try {
        errcode = (JSON.parse(text) as { errcode?: string }).errcode;
      } catch {
        // not JSON
      }
      throw new MediaHttpError(res.status, errcode, `${method} ${path.split("?")[0]} → ${res.status} ${errcode ?? ""}`.trim());
    }
    return res;
  }
}

/**
 * Passes bytes through and fails when their count differs from the announced
 * Content-Length (a file cut short while sent): node:http would otherwise end
 * the request short and leave the server waiting for the rest.
 */
function exactly(size: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      done(seen > size ? new Error(`file grew past its announced ${size} bytes`) : null, chunk);
    },
    flush(done) {
      done(seen === size ? null : new Error(`file ended after ${seen} of its announced ${size} bytes`));
    },
  });
}

async function readAll(res: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of res) parts.push(part as Buffer);
  return Buffer.concat(parts).toString("utf8");
}
