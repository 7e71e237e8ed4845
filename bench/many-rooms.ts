/**
 * 2. Many rooms at once: U users × R rooms each, every room sending M
 * messages one after another (all rooms concurrently). Run once against the
 * floor echo client and once against the bot: answers/s, p50/p99 latency,
 * CPU seconds per answer of the responder and of Synapse, the bot's peak RSS.
 */
import { costsSince, logMark, type RequestCost } from "./lib/access-log.js";
import type { ChildHandle } from "./lib/child.js";
import { wallNow } from "./lib/clock.js";
import { type Cs, shownBody, SyncLoop } from "./lib/cs-api.js";
import { cpuBetween, cpuSeconds, memory, resetPeak, type HomeserverCpu } from "./lib/proc.js";
import { envInt, log, type BenchContext, type Row } from "./lib/report.js";
import { pool, provisionChat, provisionEchoRoom, type BenchWorld } from "./lib/setup.js";
import { fmt, fmtRatio, ratio, summarize } from "./lib/stats.js";

/** Issue 14's targets: the bot's CPU per answer against the floor echo client's, and what it costs Synapse. */
const BOT_CPU_TARGET = 2.5;
const SYNAPSE_CPU_TARGET = 1.05;

export interface ManyRooms {
  users: Cs[];
  /** Per user: rooms with the bot, rooms with the floor echo client. */
  botRooms: string[][];
  floorRooms: string[][];
}

export async function prepareManyRooms(world: BenchWorld, bot: Cs, echo: Cs): Promise<ManyRooms> {
  const nUsers = envInt("BENCH_USERS", 50);
  const perUser = envInt("BENCH_ROOMS_PER_USER", 4);
  const t0 = Date.now();
  const users = await pool(Array.from({ length: nUsers }, (_, i) => `u${String(i).padStart(3, "0")}`), 8, (l) => world.newUser(l));
  const botRooms = await pool(users, 6, (u) => pool([...Array(perUser).keys()], 1, (i) => provisionChat(bot, u, 10 + i)));
  const floorRooms = await pool(users, 6, (u) => pool([...Array(perUser).keys()], 1, () => provisionEchoRoom(u, echo)));
  log(`rooms: ${nUsers} users × ${perUser} rooms × 2 provisioned in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return { users, botRooms, floorRooms };
}

export interface Phase {
  latencies: number[];
  seconds: number;
  responderCpu: number;
  /** Synapse processes (main and workers). */
  synapseCpu: number;
  /** PostgreSQL backends, Redis and nginx serving this homeserver (0 on SQLite). */
  otherHomeserverCpu: number;
  /** The responder's requests by kind (bench/lib/request-count.ts). */
  requests: Record<string, number>;
  /** Synapse's own account of each request's CPU, when BENCH_ACCESS_LOG=1. */
  costs?: Map<string, RequestCost>;
}

export async function phase(syncs: SyncLoop[], users: Cs[], rooms: string[][], responder: string, child: ChildHandle, hs: () => HomeserverCpu, tag: string, accessLog?: string): Promise<Phase> {
  const perRoom = envInt("BENCH_ROOM_MESSAGES", 3);
  const latencies: number[] = [];
  const pid = child.pid;
  await child.ask("requests");
  const mark = accessLog ? logMark(accessLog) : 0;
  const cpu0 = cpuSeconds(pid);
  const hs0 = hs();
  const t0 = wallNow();
  await Promise.all(
    users.flatMap((user, u) =>
      (rooms[u] ?? []).map(async (roomId) => {
        const sync = syncs[u] as SyncLoop;
        for (let i = 0; i < perRoom; i++) {
          const text = `${tag} ${roomId} ${i}`;
          const answered = sync.waitFor((e) => e.roomId === roomId && e.event.sender === responder && shownBody(e.event) === `echo: ${text}`, 180_000);
          const start = wallNow();
          await user.sendText(roomId, text);
          latencies.push((await answered).at - start);
        }
      }),
    ),
  );
  const seconds = (wallNow() - t0) / 1000;
  const responderCpu = cpuSeconds(pid) - cpu0;
  const hs1 = hs();
  const { counts } = await child.ask<{ counts: Record<string, number> }>("requests");
  const responderName = responder.slice(1).split(":")[0] ?? "";
  const costs = accessLog ? costsSince(accessLog, mark, (who) => (who === responderName ? "responder" : "users")) : undefined;
  return {
    latencies,
    seconds,
    responderCpu,
    synapseCpu: cpuBetween(hs0.synapse, hs1.synapse),
    otherHomeserverCpu: cpuBetween(hs0.other, hs1.other),
    requests: counts,
    ...(costs ? { costs } : {}),
  };
}

/** Per answer: the responder's requests by kind, and Synapse's CPU per request kind (access log). */
function logRequests(tag: string, p: Phase): void {
  const n = p.latencies.length;
  const total = Object.values(p.requests).reduce((a, b) => a + b, 0);
  log(`rooms: ${tag} requests per answer ${(total / n).toFixed(2)}`);
  for (const [kind, count] of Object.entries(p.requests).sort((a, b) => b[1] - a[1])) log(`  ${(count / n).toFixed(2)}  ${kind}`);
  if (!p.costs) return;
  const rows = [...p.costs].sort((a, b) => b[1].cpuMs - a[1].cpuMs);
  const logged = rows.reduce((a, [, c]) => a + c.cpuMs, 0);
  log(`rooms: ${tag} Synapse CPU per answer ${((p.synapseCpu * 1000) / n).toFixed(2)} ms, of it in logged requests ${(logged / n).toFixed(2)} ms:`);
  for (const [key, c] of rows) log(`  ${(c.cpuMs / n).toFixed(2)} ms  ${(c.count / n).toFixed(2)} req  ${key}`);
}

export async function runManyRooms(ctx: BenchContext, many: ManyRooms): Promise<Row[]> {
  const syncs = many.users.map((u) => new SyncLoop(u));
  await pool(syncs, 8, (s) => s.start());
  const hs = () => ctx.world.homeserverCpu();
  const rooms = many.botRooms.flat().length;
  log(`rooms: floor phase (${rooms} rooms)`);
  const accessLog = process.env["BENCH_ACCESS_LOG"] === "1" ? ctx.world.synapse.logFiles["main"] : undefined;
  const floor = await phase(syncs, many.users, many.floorRooms, ctx.echo.userId, ctx.echoChild, hs, "floor", accessLog);
  log(`rooms: bot phase (${rooms} rooms)`);
  await ctx.botChild.ask("gc");
  const rssBefore = memory(ctx.botChild.pid).rssMb;
  resetPeak(ctx.botChild.pid);
  await ctx.botChild.ask("quiet");
  const bot = await phase(syncs, many.users, many.botRooms, ctx.bot.userId, ctx.botChild, hs, "bot", accessLog);
  await ctx.botChild.ask("unquiet");
  const peak = memory(ctx.botChild.pid).hwmMb;
  await Promise.all(syncs.map((s) => s.stop()));

  logRequests("floor", floor);
  logRequests("bot", bot);
  const b = summarize(bot.latencies);
  const f = summarize(floor.latencies);
  const rate = (p: Phase): number => p.latencies.length / p.seconds;
  const perAnswer = (cpu: number, p: Phase): number => (cpu / p.latencies.length) * 1000;
  const perRequest = (p: Phase): number => Object.values(p.requests).reduce((a, c) => a + c, 0) / p.latencies.length;
  const botCpuRatio = ratio(bot.responderCpu / b.n, floor.responderCpu / f.n);
  const synapseCpuRatio = ratio(bot.synapseCpu / b.n, floor.synapseCpu / f.n);
  const label = `${many.users.length} users × ${many.botRooms[0]?.length ?? 0} rooms, ${b.n} answers`;
  return [
    { bench: "rooms", metric: `answers/s (${label})`, value: fmt(rate(bot)), baseline: fmt(rate(floor)), ratio: fmtRatio(ratio(rate(bot), rate(floor))), target: "" },
    { bench: "rooms", metric: "latency p50", value: fmt(b.p50, "ms"), baseline: fmt(f.p50, "ms"), ratio: fmtRatio(ratio(b.p50, f.p50)), target: "" },
    { bench: "rooms", metric: "latency p99", value: fmt(b.p99, "ms"), baseline: fmt(f.p99, "ms"), ratio: fmtRatio(ratio(b.p99, f.p99)), target: "" },
    { bench: "rooms", metric: "responder CPU ms per answer (bot vs floor client)", value: fmt(perAnswer(bot.responderCpu, bot), "ms"), baseline: fmt(perAnswer(floor.responderCpu, floor), "ms"), ratio: fmtRatio(botCpuRatio), target: `≤ ${BOT_CPU_TARGET}×`, met: botCpuRatio <= BOT_CPU_TARGET },
    { bench: "rooms", metric: "bot CPU vs Synapse CPU, same phase", value: `${fmt(bot.responderCpu)} s`, baseline: `Synapse ${fmt(bot.synapseCpu)} s`, ratio: fmtRatio(ratio(bot.responderCpu, bot.synapseCpu)), target: "" },
    { bench: "rooms", metric: "Synapse CPU ms per answer (bot phase vs floor phase)", value: fmt(perAnswer(bot.synapseCpu, bot), "ms"), baseline: fmt(perAnswer(floor.synapseCpu, floor), "ms"), ratio: fmtRatio(synapseCpuRatio), target: `≤ ${SYNAPSE_CPU_TARGET}×`, met: synapseCpuRatio <= SYNAPSE_CPU_TARGET },
    { bench: "rooms", metric: "requests to the homeserver per answer (responder)", value: fmt(perRequest(bot)), baseline: fmt(perRequest(floor)), ratio: fmtRatio(ratio(perRequest(bot), perRequest(floor))), target: "" },
    { bench: "rooms", metric: "  by kind", value: perAnswerKinds(bot.requests, b.n), baseline: perAnswerKinds(floor.requests, f.n), ratio: "", target: "" },
    { bench: "rooms", metric: "bot peak RSS during the phase", value: fmt(peak, "MB"), baseline: `before ${fmt(rssBefore, "MB")}`, ratio: "", target: "" },
  ];
}

/** `sync 1.4, send 1.0, …` (requests of each kind divided by the answers). */
function perAnswerKinds(requests: Record<string, number>, answers: number): string {
  const total = Object.values(requests).reduce((a, b) => a + b, 0);
  const parts = Object.entries(requests).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${(n / answers).toFixed(2)}`);
  return `${(total / answers).toFixed(2)} (${parts.join(", ")})`;
}
