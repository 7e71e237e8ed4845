/**
 * 5. Start-up: bot accounts holding N rooms with their binding state, each
 * started BENCH_STARTUP_STARTS times on an empty data dir: start() → ready,
 * against raw initial /syncs of the same account with the bot's filter and
 * its initial timeline limit (the classic initial /sync a client without
 * sliding sync makes; the bot loads its first sync through sliding sync
 * where the homeserver has it, sliding-first-sync.ts), one before each start
 * and one after the last, each step begun on a quiet homeserver.
 * Then the idle RSS, against a bot holding no rooms, as a curve over
 * BENCH_STARTUP_ROOMS (one account per point) and once
 * more for rooms with m.room.encryption.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { INITIAL_SYNC_LIMIT, syncFilterDefinition } from "../src/app.js";
import { sleep, wallNow } from "./lib/clock.js";
import type { ChildHandle, Ready } from "./lib/child.js";
import type { Cs } from "./lib/cs-api.js";
import { cpuSeconds, memory, residentByMapping, untilQuiet } from "./lib/proc.js";
import { envInt, log, type Row } from "./lib/report.js";
import { createWorld, pool, provisionChat, type BenchWorld } from "./lib/setup.js";
import { fmt, fmtRatio, median, ratio } from "./lib/stats.js";

const OWNER = "@nobody:localhost";
const REBUILD_TARGET = 1.05;
const PER_ROOM_TARGET_KB = 40;

/** One bot start on an empty data dir. */
interface Start {
  readyMs: number;
  found: number;
  /** The bot's own first sync within start() → ready (ms after start()): its requests without `since` (a room-less /sync and the sliding sync, or the classic initial /sync). */
  firstSync: Ready["firstSync"];
  /** How long after ready the encrypted rooms' settings took to reach the crypto (the bot's log), if it had any. */
  settingsMs: number | undefined;
  /** Synapse's CPU (utime + stime, s) from start() to ready. */
  synapseCpuS: number;
}

interface Point {
  rooms: number;
  /** Every start of the bot, in order; `rawMs` has one raw sync before the first and one after each. */
  starts: Start[];
  rawMs: number[];
  /** Synapse's CPU (s) over each raw sync of `rawMs`. */
  rawCpuS: number[];
  /** The raw sync before those, which warms Synapse's caches (the first one of an account is the slowest). */
  warmMs: number;
  /** Median of the starts' ready times, and of the raw syncs. */
  readyMs: number;
  floorMs: number;
  /** Median over the starts of ready / the mean of the two raw syncs around that start: the rebuild ratio. */
  rebuildRatio: number;
  spawnToReadyMs: number;
  found: number;
  /** RSS once idle: it stopped falling (V8 returns the first sync's garbage some seconds after it). */
  rssMb: number;
  /** RSS `settleMs` after ready, as earlier sessions read it. */
  rssEarlyMb: number;
  /** Peak RSS from spawn to idle (VmHWM): what a memory limit must allow. */
  peakMb: number;
  /** V8 heap in use after a full GC: what the bot holds, without the allocator's slack. */
  heapMb: number;
}

/** A raw initial sync: its wall time, and Synapse's CPU (pid `synapse`) over it. */
async function rawInitialSync(bot: Cs, synapse: number): Promise<{ ms: number; cpuS: number }> {
  // The request the bot's own first sync makes (a fresh data dir: the initial timeline limit).
  const filter = JSON.stringify(syncFilterDefinition(INITIAL_SYNC_LIMIT));
  const cpu0 = cpuSeconds(synapse);
  const t0 = wallNow();
  await bot.req("GET", `/_matrix/client/v3/sync?timeout=0&filter=${encodeURIComponent(filter)}`, undefined, 600_000);
  return { ms: wallNow() - t0, cpuS: cpuSeconds(synapse) - cpu0 };
}

/**
 * `rounds` starts of the bot on an empty data dir, each a new device of
 * `account` (a fresh crypto store needs one), with a raw initial sync of the
 * same account before the first start and after each (and one uncounted
 * before those: an account's first is the slowest), every one of them begun
 * on a quiet homeserver (a new device's key upload sets Synapse to work on
 * every room of the account for seconds after). The homeserver's own
 * time for the same request moves by ±20 % from one sync to the next (its
 * caches, the machine), so one raw sync against one start proves nothing;
 * each start is held against the mean of the raw syncs on either side of
 * it, and the point reports the median of those ratios. Memory is read on
 * the first start only (its idle RSS takes up to 90 s to settle).
 */
async function measure(world: BenchWorld, account: Cs, name: string, rooms: number, settleMs: number, rounds: number): Promise<Point> {
  const reader = await world.newDevice(account);
  const synapse = world.synapsePid();
  const waits: number[] = [];
  // Every timed step starts on a quiet homeserver (see untilQuiet).
  const quiet = async (): Promise<void> => {
    const wait = await untilQuiet(synapse);
    waits.push(wait.ms);
    if (!wait.quiet) log(`startup: ${name}: WARNING: the homeserver was still busy after ${s(wait.ms)}; the next step is timed anyway`);
  };
  const rawCpuS: number[] = [];
  const quietRaw = async (): Promise<number> => {
    await quiet();
    const raw = await rawInitialSync(reader, synapse);
    rawCpuS.push(raw.cpuS);
    return raw.ms;
  };
  const warmMs = await quietRaw(); // warms Synapse's caches for this account; not counted
  rawCpuS.length = 0;
  const rawMs = [await quietRaw()];
  const starts: Start[] = [];
  let mem = { rssMb: 0, rssEarlyMb: 0, peakMb: 0, heapMb: 0, spawnToReadyMs: 0 };
  for (let round = 1; round <= rounds; round++) {
    const device = await world.newDevice(account);
    await quiet();
    const t0 = wallNow();
    const cpu0 = cpuSeconds(synapse);
    const child = world.spawnBot(device, [OWNER], `${name}-${round}`, { BENCH_TRACE: "0", BENCH_LOOP_DELAY: "0", BENCH_SYNAPSE_PID: String(synapse), ...botEnv() });
    const ready = await child.ready;
    const spawnToReadyMs = wallNow() - t0;
    const synapseCpuS = cpuSeconds(synapse) - cpu0;
    if (round === 1) mem = { ...(await readMemory(child, name, settleMs)), spawnToReadyMs };
    await child.stop();
    starts.push({ readyMs: ready.readyMs, found: ready.rooms, firstSync: ready.firstSync, settingsMs: settingsHandedOverMs(child.logFile), synapseCpuS });
    rawMs.push(await quietRaw());
    log(`startup: ${name} start ${round}/${rounds}: ready ${s(ready.readyMs)} (raw sync ${s(rawMs.at(-2) ?? 0)} before, ${s(rawMs.at(-1) ?? 0)} after; ${phases(ready.readyMs, ready.firstSync)}; Synapse CPU ${synapseCpuS.toFixed(2)} s spawn → ready, ${(rawCpuS.at(-2) ?? 0).toFixed(2)} / ${(rawCpuS.at(-1) ?? 0).toFixed(2)} s in the raw syncs)`);
  }
  // Start i ran between raw syncs i and i + 1.
  if (rawMs.length !== starts.length + 1) throw new Error(`startup: ${rawMs.length} raw syncs around ${starts.length} starts`);
  const ratios = starts.map((st, i) => ratio(st.readyMs, ((rawMs[i] as number) + (rawMs[i + 1] as number)) / 2));
  const point: Point = { rooms, starts, rawMs, rawCpuS, warmMs, readyMs: median(starts.map((st) => st.readyMs)), floorMs: median(rawMs), rebuildRatio: median(ratios), found: Math.min(...starts.map((st) => st.found)), ...mem };
  log(`startup: ${name}: ready ${starts.map((st) => s(st.readyMs)).join(", ")}; raw syncs ${rawMs.map(s).join(", ")} (warm-up ${s(warmMs)}); ready / raw syncs around it ${ratios.map(fmtRatio).join(", ")} (median ${fmtRatio(point.rebuildRatio)}); waited for a quiet homeserver ${waits.map(s).join(", ")}; RSS ${point.rssEarlyMb.toFixed(0)} MB ${settleMs / 1000} s after ready, ${point.rssMb.toFixed(0)} MB idle, peak ${point.peakMb.toFixed(0)} MB, heap ${point.heapMb.toFixed(0)} MB`);
  return point;
}

/** From the bot's log: how long after ready its encrypted rooms' settings took to reach the crypto (deferred-room-settings.ts). */
function settingsHandedOverMs(logFile: string): number | undefined {
  const line = readFileSync(logFile, "utf8")
    .split("\n")
    .find((l) => l.includes("encrypted rooms' settings handed to the crypto"));
  const ms = line ? (JSON.parse(line) as { ms?: unknown }).ms : undefined;
  return typeof ms === "number" ? ms : undefined;
}

/** The first start's memory: RSS `settleMs` after ready, settled RSS, peak, and V8's heap after a full GC. */
async function readMemory(child: ChildHandle, name: string, settleMs: number): Promise<{ rssMb: number; rssEarlyMb: number; peakMb: number; heapMb: number }> {
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
  return { rssMb, rssEarlyMb, peakMb, heapMb: mem.heapUsed / 2 ** 20 };
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** start() → ready in three parts: before the first sync's first request is sent, the first sync (the homeserver's), after its last body is in. */
function phases(readyMs: number, sync: Start["firstSync"]): string {
  if (!sync) return "first sync not seen";
  const synapse = sync.cpu?.synapseDuringMs !== undefined ? `; Synapse CPU during it ${s(sync.cpu.synapseDuringMs)}` : "";
  const cpu = sync.cpu ? ` (bot CPU ${[sync.cpu.beforeMs, sync.cpu.duringMs, sync.cpu.afterMs].map((ms) => s(ms)).join(" / ")}${synapse})` : "";
  return `before the first sync ${s(sync.startMs)}, the first sync ${s(sync.doneMs - sync.startMs)}, after it ${s(readyMs - sync.doneMs)}${cpu}`;
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
  const r = p.rebuildRatio;
  const first = p.starts[0];
  const sync = first?.firstSync;
  const n = p.starts.length;
  // Start i ran between raw syncs i and i + 1 (see measure).
  const synapseDuringS = p.starts.map((st) => (st.firstSync?.cpu?.synapseDuringMs ?? Number.NaN) / 1000);
  return [
    { bench: "startup", metric: `rebuild ${p.rooms} ${label}rooms from an empty data dir: start() → ready, median of ${n} starts (ratio: median of each start / the raw syncs before and after it)`, value: fmt(p.readyMs / 1000, "s"), baseline: `raw initial /sync, median of ${p.rawMs.length}: ${fmt(p.floorMs / 1000, "s")}`, ratio: fmtRatio(r), target: `≤ ${REBUILD_TARGET.toFixed(2)}×`, met: r <= REBUILD_TARGET && p.found === p.rooms },
    { bench: "startup", metric: `  of the first start: before the bot's first sync, the first sync (sliding sync where the homeserver has it), after it (ratio: ready vs its own first sync)`, value: first && sync ? `${fmt(sync.startMs / 1000, "s")}, ${fmt((sync.doneMs - sync.startMs) / 1000, "s")}, ${fmt((first.readyMs - sync.doneMs) / 1000, "s")}` : "not seen", baseline: `raw /sync just before it ${fmt((p.rawMs[0] ?? 0) / 1000, "s")}`, ratio: first && sync ? fmtRatio(ratio(first.readyMs, sync.doneMs - sync.startMs)) : "", target: "" },
    {
      bench: "startup",
      metric: `  the bot's CPU (all threads) before / during / after its first sync, median of ${n} starts (ratio: Synapse's CPU during the bot's first sync vs during the raw initial /syncs around it, median)`,
      value: cpuSplit(p.starts),
      baseline: `Synapse ${fmt(median(synapseDuringS), "s")} vs raw ${fmt(median(p.rawCpuS), "s")} (medians); spawn → ready ${fmt(median(p.starts.map((st) => st.synapseCpuS)), "s")}`,
      ratio: fmtRatio(median(synapseDuringS.map((cpu, i) => ratio(cpu, ((p.rawCpuS[i] as number) + (p.rawCpuS[i + 1] as number)) / 2)))),
      target: "",
    },
    ...(first?.settingsMs !== undefined
      ? [{ bench: "startup", metric: `  of the first start: encrypted rooms' settings handed to the crypto in the background after ready`, value: fmt(first.settingsMs / 1000, "s"), baseline: "", ratio: "", target: "" }]
      : []),
    { bench: "startup", metric: `rooms found in the rebuilt database, ${p.rooms} ${label}rooms`, value: String(p.found), baseline: String(p.rooms), ratio: "", target: "all", met: p.found === p.rooms },
    { bench: "startup", metric: `process spawn → ready, ${p.rooms} ${label}rooms (incl. node start-up)`, value: fmt(p.spawnToReadyMs / 1000, "s"), baseline: `0 rooms ${fmt(none.spawnToReadyMs / 1000, "s")}`, ratio: "", target: "" },
    { bench: "startup", metric: `idle RSS with ${p.rooms} ${label}rooms (once it stopped falling)`, value: fmt(p.rssMb, "MB"), baseline: `0 rooms ${fmt(none.rssMb, "MB")}`, ratio: fmtRatio(ratio(p.rssMb, none.rssMb)), target: "" },
    { bench: "startup", metric: `  RSS per room 5 s after ready, ${p.rooms} ${label}rooms`, value: fmt(earlyPerRoomKb, "KB"), baseline: `${fmt(p.rssEarlyMb, "MB")}, 0 rooms ${fmt(none.rssEarlyMb, "MB")}`, ratio: "", target: "" },
    { bench: "startup", metric: `peak RSS from spawn to idle, ${p.rooms} ${label}rooms`, value: fmt(p.peakMb, "MB"), baseline: `0 rooms ${fmt(none.peakMb, "MB")}`, ratio: "", target: "" },
    { bench: "startup", metric: `idle RSS per room, ${p.rooms} ${label}rooms: (RSS − RSS at 0) / rooms, both read once RSS stopped falling`, value: fmt(perRoomKb, "KB"), baseline: slope, ratio: "", target: `≤ ${PER_ROOM_TARGET_KB} KB`, met: perRoomKb <= PER_ROOM_TARGET_KB },
    { bench: "startup", metric: `V8 heap after GC, ${p.rooms} ${label}rooms`, value: fmt(p.heapMb, "MB"), baseline: `0 rooms ${fmt(none.heapMb, "MB")}`, ratio: "", target: "" },
  ];
}

/** The bot's CPU before, during and after its first sync: the median of the starts, each part on its own. */
function cpuSplit(starts: Start[]): string {
  const cpus = starts.flatMap((st) => (st.firstSync?.cpu ? [st.firstSync.cpu] : []));
  if (cpus.length === 0) return "not seen";
  return [cpus.map((c) => c.beforeMs), cpus.map((c) => c.duringMs), cpus.map((c) => c.afterMs)].map((ms) => fmt(median(ms) / 1000, "s")).join(" / ");
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
  const rounds = Math.max(1, envInt("BENCH_STARTUP_STARTS", 3));
  const world = keptDir ? await createWorld("sqlite", keptDir) : mainWorld;
  try {
    const none = await measure(world, await world.newBot("bot-empty"), "bot-empty", 0, settle, 1);
    const out: Row[] = [];
    let prev: Point | undefined;
    for (const n of points) {
      const plain = await world.newBot(pointAccount(n));
      await topUp(plain, n, false);
      const p = await measure(world, plain, `bot-startup-${n}`, n, settle, rounds);
      out.push(...rows(p, none, prev, ""));
      prev = p;
    }
    if (encryptedRooms > 0) {
      const e2ee = await world.newBot("bot-startup-e2ee");
      await topUp(e2ee, encryptedRooms, true);
      out.push(...rows(await measure(world, e2ee, `bot-startup-e2ee-${encryptedRooms}`, encryptedRooms, settle, rounds), none, undefined, "encrypted "));
    }
    return out;
  } finally {
    if (world !== mainWorld) await world.close();
  }
}
