/**
 * `npm run bench:topologies`: the many-rooms load (bench/many-rooms.ts) against
 * each homeserver topology in turn — single-process Synapse on SQLite, single
 * process on PostgreSQL, and PostgreSQL with workers behind nginx (Redis
 * replication) — floor echo client first, then the bot, on the same server.
 * BENCH_TOPOLOGIES=sqlite,postgres,workers picks a subset; the load has the
 * many-rooms knobs (BENCH_USERS, BENCH_ROOMS_PER_USER, BENCH_ROOM_MESSAGES).
 * Prints one table, also written to bench/results/topologies.{md,json}.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseTopology, type SynapseTopology } from "../src/dev/synapse.js";
import { SyncLoop } from "./lib/cs-api.js";
import { cpuModel } from "./lib/proc.js";
import { log } from "./lib/report.js";
import { createWorld, pool } from "./lib/setup.js";
import { fmt, fmtRatio, ratio, summarize } from "./lib/stats.js";
import { versions } from "./lib/versions.js";
import { phase, prepareManyRooms, type Phase } from "./many-rooms.js";

interface Result {
  topology: SynapseTopology;
  answers: number;
  bot: Phase;
  floor: Phase;
}

async function measure(topology: SynapseTopology): Promise<Result> {
  const world = await createWorld(topology);
  try {
    log(`${topology}: synapse ${world.synapse.baseUrl}, work dir ${world.dir}`);
    const [echo, bot] = await Promise.all([world.newUser("floor"), world.newBot("bot")]);
    const many = await prepareManyRooms(world, bot, echo);
    const botChild = world.spawnBot(bot, many.users.map((u) => u.userId), "bot-a");
    const echoChild = world.spawnEcho(echo);
    const ready = await botChild.ready;
    await echoChild.ready;
    log(`${topology}: bot ready in ${ready.readyMs.toFixed(0)} ms with ${ready.rooms} rooms`);
    const syncs = many.users.map((u) => new SyncLoop(u));
    await pool(syncs, 8, (s) => s.start());
    const hs = () => world.homeserverCpu();
    log(`${topology}: floor phase`);
    const floor = await phase(syncs, many.users, many.floorRooms, echo.userId, echoChild, hs, "floor");
    log(`${topology}: bot phase`);
    await botChild.ask("quiet"); // no bench bookkeeping in the bot while its CPU is compared
    const botPhase = await phase(syncs, many.users, many.botRooms, bot.userId, botChild, hs, "bot");
    await Promise.all(syncs.map((s) => s.stop()));
    await botChild.stop();
    await echoChild.stop();
    return { topology, answers: botPhase.latencies.length, bot: botPhase, floor };
  } finally {
    await world.close();
  }
}

const started = Date.now();
const topologies = (process.env["BENCH_TOPOLOGIES"] ?? "sqlite,postgres,workers").split(",").map((t) => parseTopology(t.trim()));
const results: Result[] = [];
for (const t of topologies) results.push(await measure(t));

const rate = (p: Phase): number => p.latencies.length / p.seconds;
const hsCpu = (p: Phase): number => p.synapseCpu + p.otherHomeserverCpu;
const perAnswer = (cpu: number, p: Phase): number => (cpu / p.latencies.length) * 1000;
const NAMES: Record<SynapseTopology, string> = {
  sqlite: "Synapse, 1 process, SQLite",
  postgres: "Synapse, 1 process, PostgreSQL",
  workers: "Synapse, main + 2 workers, PostgreSQL, Redis, nginx",
};
const lines = [
  "| topology | answers/s (bot) | answers/s (floor) | p50 bot / floor | p99 bot / floor | bot CPU s | homeserver CPU s (Synapse + PG/Redis/nginx) | bot / homeserver CPU | homeserver CPU ms per answer, bot / floor |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...results.map((r) => {
    const b = summarize(r.bot.latencies);
    const f = summarize(r.floor.latencies);
    return [
      NAMES[r.topology],
      fmt(rate(r.bot)),
      fmt(rate(r.floor)),
      `${fmt(b.p50, "ms")} / ${fmt(f.p50, "ms")}`,
      `${fmt(b.p99, "ms")} / ${fmt(f.p99, "ms")}`,
      fmt(r.bot.responderCpu),
      `${fmt(hsCpu(r.bot))} (${fmt(r.bot.synapseCpu)} + ${fmt(r.bot.otherHomeserverCpu)})`,
      fmtRatio(ratio(r.bot.responderCpu, hsCpu(r.bot))),
      `${fmt(perAnswer(hsCpu(r.bot), r.bot), "ms")} / ${fmt(perAnswer(hsCpu(r.floor), r.floor), "ms")} (${fmtRatio(ratio(perAnswer(hsCpu(r.bot), r.bot), perAnswer(hsCpu(r.floor), r.floor)))})`,
    ].join(" | ").replace(/^/, "| ").concat(" |");
  }),
];
const v = versions();
const machine = `${os.cpus().length} × ${cpuModel()}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}`;
const users = Number(process.env["BENCH_USERS"] ?? 50);
const header = [
  `date: ${new Date().toISOString()}`,
  `machine: ${machine}`,
  `versions: node ${process.version}, synapse ${v.synapse}, matrix-js-sdk ${v.sdk}, surfaces ${v.surfaces}`,
  `load: ${users} users × ${process.env["BENCH_ROOMS_PER_USER"] ?? 4} rooms × ${process.env["BENCH_ROOM_MESSAGES"] ?? 3} messages per phase (${results[0]?.answers ?? 0} answers)`,
  `run time: ${((Date.now() - started) / 1000).toFixed(0)} s`,
].join("\n");
const table = lines.join("\n");
process.stdout.write(`\n${header}\n\n${table}\n`);
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "results");
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, "topologies.md"), `${header}\n\n${table}\n`);
writeFileSync(path.join(outDir, "topologies.json"), JSON.stringify({ date: new Date().toISOString(), machine, versions: v, results }, null, 2));
process.exit(0);
