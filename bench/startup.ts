/**
 * 5. Start-up: bot accounts holding N rooms with their binding state, each
 * started on an empty data dir (a deleted database): start() → ready, against
 * the floor of one raw initial /sync of the same account with the bot's
 * filter and its initial timeline limit. Then the idle RSS, against a bot holding no rooms, as a curve over
 * BENCH_STARTUP_ROOMS (one account per point) and once
 * more for rooms with m.room.encryption.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { INITIAL_SYNC_LIMIT, syncFilterDefinition } from "../src/app.js";
import { sleep, wallNow } from "./lib/clock.js";
import type { Cs } from "./lib/cs-api.js";
import { memory, residentByMapping } from "./lib/proc.js";
import { envInt, log, type Row } from "./lib/report.js";
import { createWorld, pool, provisionChat, type BenchWorld } from "./lib/setup.js";
import { fmt, fmtRatio, ratio } from "./lib/stats.js";

const OWNER = "@nobody:localhost";
const REBUILD_TARGET = 1.05;
const PER_ROOM_TARGET_KB = 40;

interface Point {
  rooms: number;
  readyMs: number;
  floorMs: number;
  /** The same raw sync just before the bot (it warms Synapse's caches): how much the homeserver's own time moves. */
  warmMs: number;
  spawnToReadyMs: number;
  found: number;
  /** The bot's own first /sync within start() → ready (ms after start()). */
  firstSync: { startMs: number; doneMs: number } | undefined;
  /** RSS once idle: it stopped falling (V8 returns the first sync's garbage some seconds after it). */
  rssMb: number;
  /** RSS `settleMs` after ready, as earlier sessions read it. */
  rssEarlyMb: number;
  /** Peak RSS from spawn to idle (VmHWM): what a memory limit must allow. */
  peakMb: number;
  /** V8 heap in use after a full GC: what the bot holds, without the allocator's slack. */
  heapMb: number;
}

async function rawInitialSync(bot: Cs): Promise<number> {
  // The request the bot's own first sync makes (a fresh data dir: the initial timeline limit).
  const filter = JSON.stringify(syncFilterDefinition(INITIAL_SYNC_LIMIT));
  const t0 = wallNow();
  await bot.req("GET", `/_matrix/client/v3/sync?timeout=0&filter=${encodeURIComponent(filter)}`, undefined, 600_000);
  return wallNow() - t0;
}

/** One start of the bot on an empty data dir, as a new device of `account` (a fresh crypto store needs one). */
async function measure(world: BenchWorld, account: Cs, name: string, rooms: number, settleMs: number): Promise<Point> {
  const bot = await world.newDevice(account);
  const warmMs = await rawInitialSync(bot); // warms Synapse's caches for both contenders alike
  const t0 = wallNow();
  const child = world.spawnBot(bot, [OWNER], name, { BENCH_TRACE: "0", ...botEnv() });
  const ready = await child.ready;
  const spawnToReadyMs = wallNow() - t0;
  await sleep(settleMs);
  const rssEarlyMb = memory(child.pid).rssMb;
  const rssMb = await settledRss(child.pid);
  const peakMb = memory(child.pid).hwmMb;
  const maps = Object.entries(residentByMapping(child.pid)).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ");
  const before = (await child.ask<{ mem: NodeJS.MemoryUsage }>("stats")).mem;
  await child.ask("gc");
  const { mem, cpu } = await child.ask<{ mem: NodeJS.MemoryUsage; cpu: NodeJS.CpuUsage }>("stats");
  const mb = (m: NodeJS.MemoryUsage): string => Object.entries(m).map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(1)}`).join(", ");
  log(`startup: ${name}: bot env ${JSON.stringify(botEnv())}`);
  log(`startup: ${name}: memory before GC: ${mb(before)}; after GC: ${mb(mem)}; bot CPU to now ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s; resident MB by mapping: ${maps}`);
  if (process.env["BENCH_HEAP_SNAPSHOT"]) log(`startup: heap snapshot ${(await child.ask<{ file: string }>("heap-snapshot")).file}`);
  await child.stop();
  const floorMs = await rawInitialSync(bot);
  log(`startup: ${name}: ready ${(ready.readyMs / 1000).toFixed(2)} s (raw sync ${(floorMs / 1000).toFixed(2)} s, ${(warmMs / 1000).toFixed(2)} s before the bot; ${phases(ready.readyMs, ready.firstSync)}), RSS ${rssEarlyMb.toFixed(0)} MB ${settleMs / 1000} s after ready, ${rssMb.toFixed(0)} MB idle, peak ${peakMb.toFixed(0)} MB, heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MB`);
  return { rooms, readyMs: ready.readyMs, floorMs, warmMs, spawnToReadyMs, found: ready.rooms, firstSync: ready.firstSync, rssMb, rssEarlyMb, peakMb, heapMb: mem.heapUsed / 2 ** 20 };
}

/** start() → ready in three parts: before the first /sync is sent, the /sync itself (the homeserver's), after its body is in. */
function phases(readyMs: number, sync: Point["firstSync"]): string {
  if (!sync) return "first /sync not seen";
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  return `before the first /sync ${s(sync.startMs)}, the /sync ${s(sync.doneMs - sync.startMs)}, after it ${s(readyMs - sync.doneMs)}`;
}

/**
 * RSS once it stops falling: V8 gives the initial sync's garbage back to the
 * system only when its memory reducer runs, some seconds after the burst.
 * Read every second until it fell by less than 1 % over 10 s (at most 90 s).
 */
async function settledRss(pid: number): Promise<number> {
  const seen: number[] = [memory(pid).rssMb];
  for (let i = 0; i < 90; i++) {
    await sleep(1000);
    seen.push(memory(pid).rssMb);
    const tenAgo = seen.at(-11);
    if (tenAgo !== undefined && (seen.at(-1) ?? 0) > tenAgo * 0.99) break;
  }
  return seen.at(-1) ?? Number.NaN;
}

/** The image's memory settings (glibc's malloc, V8's heap), read from the Dockerfile's ENV lines. */
const MEMORY_ENV = /^(MALLOC_[A-Z_]+|NODE_OPTIONS)$/;

function imageMemoryEnv(): Record<string, string> {
  const dockerfile = readFileSync(fileURLToPath(new URL("../Dockerfile", import.meta.url)), "utf8").replace(/\\\n/g, " ");
  const env: Record<string, string> = {};
  for (const line of dockerfile.split("\n").filter((l) => l.startsWith("ENV "))) {
    for (const [, k = "", v = ""] of line.matchAll(/([A-Za-z_]+)=(\S+)/g)) if (MEMORY_ENV.test(k)) env[k] = v;
  }
  return env;
}

/**
 * The bot runs with the image's memory settings, so the bench measures what
 * is deployed (BENCH_STARTUP_IMAGE_ENV=0: without them); BENCH_STARTUP_BOT_ENV="K=V,K=V"
 * adds to them, for the bot alone (not Synapse or the bench).
 */
function botEnv(): Record<string, string> {
  const pairs = (process.env["BENCH_STARTUP_BOT_ENV"] ?? "").split(",").filter((p) => p.includes("="));
  const extra = Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
  return { ...(process.env["BENCH_STARTUP_IMAGE_ENV"] === "0" ? {} : imageMemoryEnv()), ...extra };
}

/** Creates rooms until `account` holds `n` (a kept Synapse may hold some already). */
async function topUp(account: Cs, n: number, encrypted: boolean): Promise<void> {
  const have = (await account.req<{ joined_rooms: string[] }>("GET", "/_matrix/client/v3/joined_rooms")).joined_rooms.length;
  if (have > n) throw new Error(`${account.userId} is in ${have} rooms, more than the ${n} of its point`);
  if (have === n) return;
  const t0 = Date.now();
  const indexes = Array.from({ length: n - have }, (_, i) => have + i + 1);
  await pool(indexes, envInt("BENCH_STARTUP_CREATE_CONCURRENCY", 16), (i) => provisionChat(account, OWNER, i, undefined, { encrypted }));
  log(`startup: ${account.userId}: ${n - have} rooms created in ${((Date.now() - t0) / 1000).toFixed(0)} s (now ${n})`);
}

function rows(p: Point, none: Point, prev: Point | undefined, label: string): Row[] {
  const perRoomKb = ((p.rssMb - none.rssMb) * 1024) / p.rooms;
  const earlyPerRoomKb = ((p.rssEarlyMb - none.rssEarlyMb) * 1024) / p.rooms;
  const slope = prev ? `${fmt(((p.rssMb - prev.rssMb) * 1024) / (p.rooms - prev.rooms), "KB")} per room since ${prev.rooms}` : "";
  const r = ratio(p.readyMs, p.floorMs);
  return [
    { bench: "startup", metric: `rebuild ${p.rooms} ${label}rooms from an empty data dir: start() → ready`, value: fmt(p.readyMs / 1000, "s"), baseline: `raw initial /sync ${fmt(p.floorMs / 1000, "s")}`, ratio: fmtRatio(r), target: `≤ ${REBUILD_TARGET.toFixed(2)}×`, met: r <= REBUILD_TARGET && p.found === p.rooms },
    { bench: "startup", metric: `  of it: before the bot's first /sync, the /sync, after it (ratio: ready vs its own /sync)`, value: p.firstSync ? `${fmt(p.firstSync.startMs / 1000, "s")}, ${fmt((p.firstSync.doneMs - p.firstSync.startMs) / 1000, "s")}, ${fmt((p.readyMs - p.firstSync.doneMs) / 1000, "s")}` : "not seen", baseline: `raw /sync just before the bot ${fmt(p.warmMs / 1000, "s")}`, ratio: p.firstSync ? fmtRatio(ratio(p.readyMs, p.firstSync.doneMs - p.firstSync.startMs)) : "", target: "" },
    { bench: "startup", metric: `rooms found in the rebuilt database, ${p.rooms} ${label}rooms`, value: String(p.found), baseline: String(p.rooms), ratio: "", target: "all", met: p.found === p.rooms },
    { bench: "startup", metric: `process spawn → ready, ${p.rooms} ${label}rooms (incl. node start-up)`, value: fmt(p.spawnToReadyMs / 1000, "s"), baseline: `0 rooms ${fmt(none.spawnToReadyMs / 1000, "s")}`, ratio: "", target: "" },
    { bench: "startup", metric: `idle RSS with ${p.rooms} ${label}rooms (once it stopped falling)`, value: fmt(p.rssMb, "MB"), baseline: `0 rooms ${fmt(none.rssMb, "MB")}`, ratio: fmtRatio(ratio(p.rssMb, none.rssMb)), target: "" },
    { bench: "startup", metric: `  RSS per room 5 s after ready, ${p.rooms} ${label}rooms`, value: fmt(earlyPerRoomKb, "KB"), baseline: `${fmt(p.rssEarlyMb, "MB")}, 0 rooms ${fmt(none.rssEarlyMb, "MB")}`, ratio: "", target: "" },
    { bench: "startup", metric: `peak RSS from spawn to idle, ${p.rooms} ${label}rooms`, value: fmt(p.peakMb, "MB"), baseline: `0 rooms ${fmt(none.peakMb, "MB")}`, ratio: "", target: "" },
    { bench: "startup", metric: `idle RSS per room, ${p.rooms} ${label}rooms: (RSS − RSS at 0) / rooms, both read once RSS stopped falling`, value: fmt(perRoomKb, "KB"), baseline: slope, ratio: "", target: `≤ ${PER_ROOM_TARGET_KB} KB`, met: perRoomKb <= PER_ROOM_TARGET_KB },
    { bench: "startup", metric: `V8 heap after GC, ${p.rooms} ${label}rooms`, value: fmt(p.heapMb, "MB"), baseline: `0 rooms ${fmt(none.heapMb, "MB")}`, ratio: "", target: "" },
  ];
}

const knobs = (): { points: number[]; encryptedRooms: number; keptDir: string | undefined } => ({
  points: (process.env["BENCH_STARTUP_ROOMS"] ?? "1000").split(",").map(Number).filter((n) => n > 0).sort((a, b) => a - b),
  encryptedRooms: Number(process.env["BENCH_STARTUP_ENCRYPTED_ROOMS"] ?? "1000"),
  // A kept Synapse saves creating thousands of rooms on every run.
  keptDir: process.env["BENCH_STARTUP_SYNAPSE_DIR"],
});

/**
 * The account of a point of the curve: one per point, so that a kept
 * Synapse filled ahead of time serves every point (one account topped up
 * from point to point only works upwards, in a single run). 10,000 rooms
 * keep the name earlier runs filled them under.
 */
const pointAccount = (n: number): string => (n === 10_000 ? "bot-startup" : `bot-startup-${n}`);

/** Creates the rooms of every point in the kept Synapse, without measuring. */
export async function prepareStartupRooms(): Promise<void> {
  const { points, encryptedRooms, keptDir } = knobs();
  if (!keptDir) throw new Error("BENCH_STARTUP_SYNAPSE_DIR is not set");
  const world = await createWorld("sqlite", keptDir);
  try {
    await world.newBot("bot-empty");
    if (encryptedRooms > 0) await topUp(await world.newBot("bot-startup-e2ee"), encryptedRooms, true);
    for (const n of points) await topUp(await world.newBot(pointAccount(n)), n, false);
  } finally {
    await world.close();
  }
}

export async function runStartup(mainWorld: BenchWorld): Promise<Row[]> {
  const { points, encryptedRooms, keptDir } = knobs();
  const settle = envInt("BENCH_IDLE_SETTLE_MS", 5000);
  const world = keptDir ? await createWorld("sqlite", keptDir) : mainWorld;
  try {
    const none = await measure(world, await world.newBot("bot-empty"), "bot-empty", 0, settle);
    const out: Row[] = [];
    let prev: Point | undefined;
    for (const n of points) {
      const plain = await world.newBot(pointAccount(n));
      await topUp(plain, n, false);
      const p = await measure(world, plain, `bot-startup-${n}`, n, settle);
      out.push(...rows(p, none, prev, ""));
      prev = p;
    }
    if (encryptedRooms > 0) {
      const e2ee = await world.newBot("bot-startup-e2ee");
      await topUp(e2ee, encryptedRooms, true);
      out.push(...rows(await measure(world, e2ee, `bot-startup-e2ee-${encryptedRooms}`, encryptedRooms, settle), none, undefined, "encrypted "));
    }
    return out;
  } finally {
    if (world !== mainWorld) await world.close();
  }
}
