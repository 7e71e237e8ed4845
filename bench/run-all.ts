/**
 * `npm run bench`: every benchmark against one private Synapse, then the
 * table. BENCH_ONLY=relay,encrypted,streaming,files,rooms,runaway,startup picks a subset; the
 * sizes have env knobs (see docs/performance.md).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SyncLoop } from "./lib/cs-api.js";
import { log, type BenchContext, type Row } from "./lib/report.js";
import { createWorld, provisionChat, provisionEchoRoom, provisionPlain } from "./lib/setup.js";
import { cpuModel } from "./lib/proc.js";
import { renderTable } from "./lib/table.js";
import { runEncrypted } from "./encrypted.js";
import { runFiles } from "./files.js";
import { prepareManyRooms, runManyRooms } from "./many-rooms.js";
import { runRelay } from "./relay.js";
import { runRunaway } from "./runaway.js";
import { runStartup } from "./startup.js";
import { runStreaming } from "./streaming.js";
import { versions } from "./lib/versions.js";

const only = new Set((process.env["BENCH_ONLY"] ?? "relay,encrypted,streaming,files,rooms,runaway,startup").split(",").map((s) => s.trim()));
const started = Date.now();
const world = await createWorld();
const rows: Row[] = [];
try {
  log(`synapse ${world.synapse.baseUrl} (pid ${world.synapsePid()}), work dir ${world.dir}`);
  const [alice, echo, bot] = await Promise.all([world.newUser("alice"), world.newUser("floor"), world.newBot("bot")]);
  const rooms = {
    relay: await provisionChat(bot, alice, 1),
    stream: await provisionChat(bot, alice, 2),
    files: await provisionChat(bot, alice, 3),
    floor: await provisionEchoRoom(alice, echo),
    // No binding: the bot's own account posts here with the raw API (plain sends).
    scratch: await provisionPlain(bot, alice),
  };
  const many = only.has("rooms") ? await prepareManyRooms(world, bot, echo) : null;
  const users = [alice.userId, ...(many?.users.map((u) => u.userId) ?? [])];
  const botChild = world.spawnBot(bot, users, "bot-a");
  const echoChild = world.spawnEcho(echo);
  const ready = await botChild.ready;
  await echoChild.ready;
  log(`bot ready in ${ready.readyMs.toFixed(0)} ms with ${ready.rooms} rooms`);
  const aliceSync = new SyncLoop(alice);
  await aliceSync.start();
  const ctx: BenchContext = { world, alice, aliceSync, bot, echo, botChild, echoChild, rooms };
  // The bot's memory after each phase, after a full GC: what it keeps, phase after phase (a leak shows as growth).
  const kept = async (phase: string): Promise<void> => {
    await botChild.ask("gc");
    const { mem } = await botChild.ask<{ mem: NodeJS.MemoryUsage }>("stats");
    log(`bot memory after ${phase}, after GC: RSS ${(mem.rss / 2 ** 20).toFixed(0)} MB, V8 heap used ${(mem.heapUsed / 2 ** 20).toFixed(1)} MB, external ${(mem.external / 2 ** 20).toFixed(1)} MB`);
  };
  await kept("start-up");
  const phases: Array<[string, () => Promise<Row[]>]> = [
    ["relay", () => runRelay(ctx)],
    ["encrypted", () => runEncrypted(ctx)],
    ["streaming", () => runStreaming(ctx)],
    ["files", () => runFiles(ctx)],
  ];
  for (const [name, run] of phases) {
    if (!only.has(name)) continue;
    rows.push(...(await run()));
    await kept(name);
  }
  if (many) {
    rows.push(...(await runManyRooms(ctx, many)));
    await kept("rooms");
  }
  if (only.has("runaway")) rows.push(...(await runRunaway(world, alice, aliceSync)));
  await aliceSync.stop();
  await botChild.stop();
  await echoChild.stop();
  if (only.has("startup")) rows.push(...(await runStartup(world)));
} finally {
  await world.close();
}

const v = versions();
const machine = `${os.cpus().length} × ${cpuModel()}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}`;
const table = renderTable(rows);
const header = [
  `date: ${new Date().toISOString()}`,
  `machine: ${machine}`,
  `versions: node ${process.version}, synapse ${v.synapse}, matrix-js-sdk ${v.sdk}, surfaces ${v.surfaces}`,
  `run time: ${((Date.now() - started) / 1000).toFixed(0)} s`,
].join("\n");
process.stdout.write(`\n${header}\n\n${table}\n`);
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "results");
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, "latest.md"), `${header}\n\n${table}\n`);
writeFileSync(path.join(outDir, "latest.json"), JSON.stringify({ date: new Date().toISOString(), machine, versions: v, rows }, null, 2));
process.exit(0);
