import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { leanFetch } from "../../src/matrix/http-transport.js";

let server: Server;
let base: string;
const seen: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[] = [];

function route(req: IncomingMessage, res: ServerResponse, body: string): void {
  seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
  if (req.url === "/json") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ echoed: body }));
  if (req.url === "/error") return void res.writeHead(429, { "content-type": "application/json" }).end('{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":5}');
  if (req.url === "/empty") return void res.writeHead(204).end();
  if (req.url === "/gzip") return void res.writeHead(200, { "content-encoding": "gzip" }).end(gzipSync('{"zipped":true}'));
  if (req.url === "/moved") return void res.writeHead(307, { location: "/json" }).end();
  if (req.url === "/slow") return void setTimeout(() => res.end("{}"), 5_000).unref();
  res.writeHead(404).end();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => route(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe("leanFetch", () => {
  it("sends method, headers and a string body, and reads a JSON answer as fetch does", async () => {
    const res = await leanFetch(new URL(`${base}/json`), { method: "PUT", body: '{"a":"é"}', headers: { Authorization: "Bearer t", "Content-Type": "application/json" } });
    expect(res.ok).toBe(true);
    expect(res.url).toBe(`${base}/json`);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ echoed: '{"a":"é"}' });
    const req = seen.at(-1);
    expect(req?.method).toBe("PUT");
    expect(req?.headers["authorization"]).toBe("Bearer t");
    expect(req?.headers["content-length"]).toBe(String(Buffer.byteLength('{"a":"é"}')));
  });

  it("hands back error statuses, empty answers and compressed bodies", async () => {
    const limited = await leanFetch(`${base}/error`);
    expect([limited.ok, limited.status]).toEqual([false, 429]);
    expect(await limited.text()).toContain("M_LIMIT_EXCEEDED");
    const empty = await leanFetch(`${base}/empty`, { method: "POST", body: "{}" });
    expect([empty.status, await empty.text()]).toEqual([204, ""]);
    expect(await (await leanFetch(`${base}/gzip`)).json()).toEqual({ zipped: true });
  });

  it("rejects with the signal's reason when aborted, before or during the request", async () => {
    const before = new AbortController();
    before.abort();
    await expect(leanFetch(`${base}/json`, { signal: before.signal })).rejects.toMatchObject({ name: "AbortError" });
    await expect(leanFetch(`${base}/slow`, { signal: AbortSignal.timeout(50) })).rejects.toMatchObject({ name: "TimeoutError" });
  });

  it("leaves redirects and non-string bodies to the global fetch", async () => {
    const global = vi.spyOn(globalThis, "fetch");
    try {
      const moved = await leanFetch(`${base}/moved`);
      expect(await moved.json()).toEqual({ echoed: "" });
      await (await leanFetch(`${base}/json`, { method: "POST", body: new Uint8Array([1, 2]) })).text();
      expect(global).toHaveBeenCalledTimes(2);
    } finally {
      global.mockRestore();
    }
  });

  it("rejects a refused connection like fetch (an error, not a hang)", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await expect(leanFetch(`http://127.0.0.1:${port}/json`)).rejects.toThrow();
  });
});

describe("leanFetch's buffered answer", () => {
  it("reads once, like a fetch Response, and can be cloned or streamed before that", async () => {
    const res = await leanFetch(`${base}/json`, { method: "POST", body: "x" });
    const copy = res.clone();
    expect(await copy.json()).toEqual({ echoed: "x" });
    expect(res.bodyUsed).toBe(false);
    expect(await res.text()).toBe('{"echoed":"x"}');
    expect(res.bodyUsed).toBe(true);
    await expect(res.json()).rejects.toThrow(TypeError);
    const streamed = await leanFetch(`${base}/json`, { method: "POST", body: "y" });
    expect(await new Response(streamed.body).json()).toEqual({ echoed: "y" });
    const blob = await (await leanFetch(`${base}/json`, { method: "POST", body: "z" })).blob();
    expect([blob.type, await blob.text()]).toEqual(["application/json", '{"echoed":"z"}']);
  });
});
