/**
 * The worker topology of the harness itself (src/dev/synapse.ts, "workers"):
 * nginx really routes /sync, event sending and the admin API to different
 * Synapse processes; the per-user rate-limit override set through the admin
 * API (main process) holds on the worker that sends events; a restart keeps
 * the PostgreSQL data; dispose drops the run's database, and a start drops
 * the database a killed run left behind a day ago.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matrixFetch, sendTextRaw } from "../support/room-messages.js";
import { startSynapse, type SynapseHandle } from "../support/synapse.js";
import { postgresFromEnv, uniqueDatabaseName } from "../../src/dev/synapse-postgres.js";

const access = (file: string): string => readFileSync(file, "utf8");

function sql(statement: string): string {
  const pg = postgresFromEnv();
  return execFileSync("psql", ["-h", pg.host, "-p", String(pg.port), "-U", pg.user, "-d", "postgres", "-tAc", statement], {
    encoding: "utf8",
  }).trim();
}
const databaseExists = (name: string): boolean => sql(`SELECT 1 FROM pg_database WHERE datname = '${name}'`) === "1";

async function createRoom(synapse: SynapseHandle, token: string): Promise<string> {
  const res = await matrixFetch<{ room_id: string }>(synapse.baseUrl, token, "POST", "/_matrix/client/v3/createRoom", {
    preset: "private_chat",
  });
  expect(res.status).toBe(200);
  return res.json.room_id;
}

describe("Synapse worker topology", () => {
  let synapse: SynapseHandle;
  // As a test run killed a day ago would have left it.
  const stale = uniqueDatabaseName(true, Date.now() - 24 * 60 * 60 * 1000);

  beforeAll(async () => {
    sql(`CREATE DATABASE ${stale}`);
    // Synapse's own rc_message (0.2/s, burst 10), to see the override work across processes.
    synapse = await startSynapse({ topology: "workers", defaultRateLimits: true });
  }, 120_000);
  afterAll(async () => {
    await synapse?.dispose();
  });

  it("routes /sync to sync1, event sending to client1 and the admin API to the main process", async () => {
    const user = await synapse.registerUser(`route-${Date.now()}`);
    const roomId = await createRoom(synapse, user.accessToken);
    const sent = await sendTextRaw(synapse.baseUrl, user.accessToken, roomId, "routed");
    expect(sent.status).toBe(200);
    const sync = await matrixFetch(synapse.baseUrl, user.accessToken, "GET", "/_matrix/client/v3/sync?timeout=0");
    expect(sync.status).toBe(200);

    const logs = synapse.logFiles;
    const send = `PUT /_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/`;
    expect(access(logs["client1"] ?? "")).toContain(send);
    expect(access(logs["sync1"] ?? "")).toContain("GET /_matrix/client/v3/sync?timeout=0");
    expect(access(logs["main"] ?? "")).toContain("/_synapse/admin/v1/register");
    expect(access(logs["main"] ?? "")).not.toContain(send);
    expect(access(logs["main"] ?? "")).not.toContain("GET /_matrix/client/v3/sync");
  });

  it("applies the admin API's per-user rate-limit override on the event-sending worker", async () => {
    const limited = await synapse.registerUser(`limited-${Date.now()}`);
    const exempt = await synapse.registerUser(`exempt-${Date.now()}`);
    await synapse.overrideRateLimit(exempt.userId, { messagesPerSecond: 0, burstCount: 0 });
    const sendMany = async (token: string): Promise<number[]> => {
      const roomId = await createRoom(synapse, token);
      const statuses: number[] = [];
      for (let i = 0; i < 15; i++) statuses.push((await sendTextRaw(synapse.baseUrl, token, roomId, `m${i}`)).status);
      return statuses;
    };
    // Burst 10 at 0.2/s: 15 quick sends must meet a 429 without the override.
    expect(await sendMany(limited.accessToken)).toContain(429);
    expect(await sendMany(exempt.accessToken)).toEqual(Array(15).fill(200));
  });

  it("dropped a stale database of a killed run when it started", () => {
    expect(databaseExists(stale)).toBe(false);
  });

  it("keeps users and rooms across a restart of every Synapse process, and drops its database on dispose", async () => {
    const user = await synapse.registerUser(`restart-${Date.now()}`);
    const roomId = await createRoom(synapse, user.accessToken);
    await synapse.restart();
    expect(synapse.isRunning()).toBe(true);
    const sent = await sendTextRaw(synapse.baseUrl, user.accessToken, roomId, "after restart");
    expect(sent.status).toBe(200);

    const db = synapse.postgresDatabase ?? "";
    expect(db).toMatch(/^surfaces_test_/);
    expect(databaseExists(db)).toBe(true);
    await synapse.dispose();
    expect(databaseExists(db)).toBe(false);
  }, 120_000);
});
