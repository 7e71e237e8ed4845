/**
 * Start-up against a homeserver that is not there yet waits and retries;
 * rejected credentials stop at once with a clear error.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { LoginRejectedError, resolveSession, untilReachable } from "../../src/matrix/session.js";

const logger = pino({ level: "silent" });
let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

function fakeHomeserver(answers: number[]): Promise<string> {
  let n = 0;
  server = createServer((req, res) => {
    const status = answers[Math.min(n++, answers.length - 1)] ?? 200;
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(status === 200 ? JSON.stringify({ user_id: "@bot:hs", device_id: "DEV1" }) : JSON.stringify({ errcode: "M_UNKNOWN_TOKEN", error: "no" }));
  });
  return new Promise((resolve) => server!.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`)));
}

const kv = (entries: Array<[string, string]> = []) => {
  const m = new Map<string, string>(entries);
  return { get: (k: string) => m.get(k), set: (k: string, v: string) => void m.set(k, v), delete: (k: string) => void m.delete(k) };
};

describe("start-up session", () => {
  it("waits for a homeserver that answers 502 at first, then goes on", async () => {
    const url = await fakeHomeserver([502, 503, 200]);
    const session = await untilReachable(() => resolveSession({ homeserverUrl: url, userId: "@bot:hs", accessToken: "t" }, kv(), logger), logger, 20);
    expect(session).toEqual({ accessToken: "t", deviceId: "DEV1" });
  });

  it("waits while nothing listens at all", async () => {
    let tries = 0;
    const url = "http://127.0.0.1:9"; // discard port: connection refused
    const attempt = () => {
      tries++;
      return tries < 3
        ? resolveSession({ homeserverUrl: url, userId: "@bot:hs", accessToken: "t" }, kv(), logger)
        : Promise.resolve({ accessToken: "t", deviceId: "D" });
    };
    await expect(untilReachable(attempt, logger, 10)).resolves.toEqual({ accessToken: "t", deviceId: "D" });
    expect(tries).toBe(3);
  });

  it("stops at once, with a clear error, when the token is rejected", async () => {
    const url = await fakeHomeserver([401]);
    await expect(untilReachable(() => resolveSession({ homeserverUrl: url, userId: "@bot:hs", accessToken: "bad" }, kv(), logger), logger, 10)).rejects.toThrow(LoginRejectedError);
    await expect(resolveSession({ homeserverUrl: url, userId: "@bot:hs", accessToken: "bad" }, kv(), logger)).rejects.toThrow(/rejected the access token of @bot:hs/);
  });

  it("waits out a 429 on /login for as long as the homeserver says, with a log line per wait", async () => {
    let logins = 0;
    server = createServer((req, res) => {
      res.writeHead(req.url?.includes("/login") && ++logins < 3 ? 429 : 200, { "Content-Type": "application/json" });
      res.end(
        logins < 3
          ? JSON.stringify({ errcode: "M_LIMIT_EXCEEDED", error: "Too Many Requests", retry_after_ms: 120 })
          : JSON.stringify({ user_id: "@bot:hs", access_token: "tok", device_id: "DEV9" }),
      );
    });
    const url = await new Promise<string>((resolve) => server!.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`)));
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const session = await untilReachable(() => resolveSession({ homeserverUrl: url, userId: "@bot:hs", password: "pw" }, kv(), log), log, 10);
    expect(session).toEqual({ accessToken: "tok", deviceId: "DEV9" });
    const waits = lines.filter((l) => String(l["msg"]).includes("rate-limited by the homeserver"));
    expect(waits.map((l) => l["wait_ms"])).toEqual([120, 120]); // the homeserver's wait, not capped by maxDelayMs=10
  });

  it("a password login asks for the device whose keys the data directory holds: saved, else the crypto store's, else the configured one", async () => {
    const asked: unknown[] = [];
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        // Saved tokens are rejected, so every case logs in.
        if (!req.url?.includes("/login")) {
          res.writeHead(401, { "Content-Type": "application/json" });
          return res.end(JSON.stringify({ errcode: "M_UNKNOWN_TOKEN", error: "no" }));
        }
        const deviceId = (JSON.parse(body) as { device_id?: string }).device_id;
        asked.push(deviceId);
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ user_id: "@bot:hs", access_token: "tok", device_id: deviceId ?? "NEWDEV" }));
      });
    });
    const url = await new Promise<string>((resolve) => server!.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`)));
    const creds = { homeserverUrl: url, userId: "@bot:hs", password: "pw" };
    const saved = () => kv([["matrix.access_token", "old"], ["matrix.device_id", "SAVED"]]);
    expect((await resolveSession({ ...creds, deviceId: "CONF", storeDeviceId: "STORE" }, saved(), logger)).deviceId).toBe("SAVED");
    // surfaces.db lost: the crypto store names its device, which beats a configured id that has other keys.
    expect((await resolveSession({ ...creds, deviceId: "CONF", storeDeviceId: "STORE" }, kv(), logger)).deviceId).toBe("STORE");
    expect((await resolveSession({ ...creds, deviceId: "CONF" }, kv(), logger)).deviceId).toBe("CONF");
    expect((await resolveSession(creds, kv(), logger)).deviceId).toBe("NEWDEV");
    expect(asked).toEqual(["SAVED", "STORE", "CONF", undefined]);
  });
});
