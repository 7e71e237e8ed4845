/**
 * The bot's operational HTTP listener: `/healthz` (the process is alive),
 * `/readyz` (it can do its job) and `/metrics` (Prometheus text). Plain
 * node:http: three read-only routes need no framework.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { HttpAddr } from "../config/env-schema.js";
import type { Readiness } from "./readiness.js";

export interface MetricsSource {
  text(): Promise<string>;
  readonly contentType: string;
}

export interface HttpServerOptions {
  addr: HttpAddr;
  logger: Logger;
  readiness(): Readiness;
  metrics?: MetricsSource;
}

export interface HttpServer {
  /** e.g. http://127.0.0.1:9464 (IPv6 hosts in brackets). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const log = opts.logger.child({ component: "http" });
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      log.error({ err, path: req.url }, "http handler failed");
      if (!res.headersSent) json(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
  // A scraper holding a keep-alive socket must not delay shutdown.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.addr.port, opts.addr.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.addr.host.includes(":") ? `[${opts.addr.host}]` : opts.addr.host;
  log.info({ host: opts.addr.host, port }, "health and metrics listening");

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: HttpServerOptions): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    json(res, 405, { error: "method not allowed" });
    return;
  }
  switch (path) {
    case "/healthz":
      json(res, 200, { status: "ok" });
      return;
    case "/readyz": {
      const r = opts.readiness();
      json(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", checks: r.checks, reasons: r.reasons });
      return;
    }
    case "/metrics":
      if (!opts.metrics) {
        json(res, 404, { error: "metrics disabled" });
        return;
      }
      {
        const body = await opts.metrics.text();
        res.writeHead(200, { "content-type": opts.metrics.contentType, "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : body);
      }
      return;
    default:
      json(res, 404, { error: "not found" });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(res.req.method === "HEAD" ? undefined : JSON.stringify(body));
}
