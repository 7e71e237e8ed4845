/**
 * 5. Start-up: a bot account holding N rooms with its binding state, started
 * on an empty data dir (a deleted database): start() → ready, against the
 * floor of one raw initial /sync of the same account with the bot's filter.
 * Then the idle RSS, against a bot holding no rooms.
 */
import { SYNC_TIMELINE_LIMIT } from "../src/app.js";
import { syncFilterDefinition } from "../src/matrix/matrix-session.js";
import { sleep, wallNow } from "./lib/clock.js";
import type { Cs } from "./lib/cs-api.js";
import { memory } from "./lib/proc.js";
import { envInt, log, type Row } from "./lib/report.js";
import { pool, provisionChat, type BenchWorld } from "./lib/setup.js";
import { fmt, fmtRatio, ratio } from "./lib/stats.js";

const OWNER = "@nobody:localhost";

async function rawInitialSync(bot: Cs): Promise<number> {
  const filter = JSON.stringify(syncFilterDefinition(SYNC_TIMELINE_LIMIT));
  const t0 = wallNow();
  const body = await bot.req<{ rooms?: { join?: Record<string, unknown> } }>("GET", `/_matrix/client/v3/sync?timeout=0&filter=${encodeURIComponent(filter)}`);
  const ms = wallNow() - t0;
  if (Object.keys(body.rooms?.join ?? {}).length === 0) throw new Error("raw initial sync saw no rooms");
  return ms;
}

async function idleRss(world: BenchWorld, bot: Cs, name: string, settleMs: number): Promise<{ readyMs: number; spawnToReadyMs: number; rooms: number; rssMb: number }> {
  const t0 = wallNow();
  const child = world.spawnBot(bot, [OWNER], name, { BENCH_TRACE: "0" });
  const ready = await child.ready;
  const spawnToReadyMs = wallNow() - t0;
  await sleep(settleMs);
  const rssMb = memory(child.pid).rssMb;
  await child.stop();
  return { ...ready, spawnToReadyMs, rssMb };
}

export async function runStartup(world: BenchWorld): Promise<Row[]> {
  const n = envInt("BENCH_STARTUP_ROOMS", 1000);
  const settle = envInt("BENCH_IDLE_SETTLE_MS", 5000);
  const [bot, empty] = await Promise.all([world.newBot("bot-startup"), world.newBot("bot-empty")]);
  log(`startup: creating ${n} rooms as the bot`);
  const t0 = Date.now();
  await pool([...Array(n).keys()], 8, (i) => provisionChat(bot, OWNER, i + 1));
  log(`startup: ${n} rooms created in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  await rawInitialSync(bot); // warms Synapse's caches for both contenders alike
  const full = await idleRss(world, bot, "bot-startup", settle);
  const floorMs = await rawInitialSync(bot);
  const none = await idleRss(world, empty, "bot-empty", settle);
  return [
    { bench: "startup", metric: `rebuild ${n} rooms from an empty data dir: start() → ready`, value: fmt(full.readyMs / 1000, "s"), baseline: `raw initial /sync ${fmt(floorMs / 1000, "s")}`, ratio: fmtRatio(ratio(full.readyMs, floorMs)), target: "≤ 15 s", met: full.readyMs <= 15_000 && full.rooms === n },
    { bench: "startup", metric: "rooms found in the rebuilt database", value: String(full.rooms), baseline: String(n), ratio: "", target: "all", met: full.rooms === n },
    { bench: "startup", metric: "process spawn → ready (incl. node start-up)", value: fmt(full.spawnToReadyMs / 1000, "s"), baseline: `0 rooms ${fmt(none.spawnToReadyMs / 1000, "s")}`, ratio: "", target: "" },
    { bench: "startup", metric: `idle RSS with ${n} rooms (${settle / 1000} s after ready)`, value: fmt(full.rssMb, "MB"), baseline: `0 rooms ${fmt(none.rssMb, "MB")}`, ratio: fmtRatio(ratio(full.rssMb, none.rssMb)), target: "≤ 200 MB", met: full.rssMb <= 200 },
  ];
}
