/**
 * 6. A runaway agent: one room's relay latency (user → bot → echo agent →
 * bot → user) while another user's agent floods a 256 MiB answer, as a ratio
 * against the same room with no flood, both measured in this run with one
 * bot. The flooding agent runs in its own process and ignores `cancel`, so
 * the bot must end the turn at its answer limit and drop the rest of the
 * flood as it keeps coming (reading it slowly: TCP holds the agent back).
 * Measuring stops after `n` round trips during floods, even mid-flood.
 */
import { sleep } from "./lib/clock.js";
import type { Cs, SyncLoop } from "./lib/cs-api.js";
import { memory, resetPeak } from "./lib/proc.js";
import { envInt, log, type Row } from "./lib/report.js";
import { provisionChat, type BenchWorld } from "./lib/setup.js";
import { fmt, fmtRatio, ratio, summarize } from "./lib/stats.js";
import { roundTrip } from "./relay.js";

const FLOODER = "flooder";

export async function runRunaway(world: BenchWorld, alice: Cs, aliceSync: SyncLoop): Promise<Row[]> {
  const n = envInt("BENCH_RUNAWAY_MESSAGES", 200);
  const warmup = envInt("BENCH_WARMUP", 20);
  const floodBytes = envInt("BENCH_FLOOD_MB", 256) * 1024 * 1024;
  const chunk = envInt("BENCH_FLOOD_CHUNK", 16_000);
  const answerLimit = process.env["BENCH_RUNAWAY_ANSWER_BYTES"];
  const nonce = Date.now().toString(36);

  const flooder = world.spawnAgent(FLOODER);
  await flooder.ready;
  const { url } = await flooder.ask<{ url: string }>("url");
  // The flood's owner is someone else, who never syncs: only the bot reads that room.
  const [bot, mallory] = await Promise.all([world.newBot("bot-runaway"), world.newUser("mallory")]);
  const relayRoom = await provisionChat(bot, alice, 1);
  const floodRoom = await provisionChat(bot, mallory, 2, FLOODER);
  const env = { BENCH_TRACE: "0", ...(answerLimit && { SURFACES_TURN_MAX_ANSWER_BYTES: answerLimit }) };
  const botChild = world.spawnBot(bot, [alice.userId, mallory.userId], "bot-runaway", env, { [FLOODER]: url });
  await botChild.ready;

  let seq = 0;
  const once = (): Promise<number> => {
    const text = `runaway ${nonce} ${++seq}`;
    return roundTrip(aliceSync, () => alice.sendText(relayRoom, text), relayRoom, bot.userId, `echo: ${text}`);
  };
  const sent = async (): Promise<number> => (await flooder.ask<{ textBytes: number }>("sent")).textBytes;

  type LoopDelay = { p50: number; p99: number; max: number };
  const loopDelay = (): Promise<LoopDelay> => botChild.ask<LoopDelay>("loop-delay");

  log(`runaway: ${warmup} warm-up + ${n} round trips without a flood`);
  for (let i = 0; i < warmup; i++) await once();
  await loopDelay();
  const quiet: number[] = [];
  for (let i = 0; i < n; i++) quiet.push(await once());
  const quietLoop = await loopDelay();

  // One flood lasts a few seconds; floods follow one another (a new turn
  // each) until `n` round trips ran while one was on.
  const maxRounds = envInt("BENCH_FLOOD_ROUNDS", 30);
  log(`runaway: ${floodBytes / 2 ** 20} MiB floods in ${chunk}-character frames, up to ${maxRounds}, until ${n} round trips ran during one`);
  resetPeak(botChild.pid);
  const rssBefore = memory(botChild.pid).rssMb;
  const flooded: number[] = [];
  let floodBytesRead = 0;
  let floodSeconds = 0;
  let rounds = 0;
  await loopDelay();
  while (flooded.length < n && rounds < maxRounds) {
    rounds++;
    const start = await sent();
    const t0 = performance.now();
    await mallory.sendText(floodRoom, `/flood ${floodBytes} ${chunk}`);
    while ((await sent()) === start) await sleep(5);
    let now = start;
    while (flooded.length < n) {
      const ms = await once();
      now = await sent();
      // The JSON around each delta makes the wire count pass floodBytes only once all of it is out.
      if (now - start >= floodBytes) break;
      flooded.push(ms);
    }
    floodBytesRead += now - start;
    floodSeconds += (performance.now() - t0) / 1000;
    log(`runaway: flood ${rounds}: ${fmt((now - start) / 2 ** 20)} MiB in ${fmt(floodSeconds)} s so far; ${flooded.length} round trips during floods`);
  }
  const floodLoop = await loopDelay();
  const peakMb = memory(botChild.pid).hwmMb;
  await botChild.stop();
  await flooder.stop();

  const q = summarize(quiet);
  const f = summarize(flooded);
  const rP50 = ratio(f.p50, q.p50);
  const rP99 = ratio(f.p99, q.p99);
  const limit = answerLimit ? `${fmt(Number(answerLimit) / 2 ** 20)} MiB` : "default";
  return [
    { bench: "runaway", metric: `other room's round trip p50 during a ${floodBytes / 2 ** 20} MiB flood (n=${f.n}; answer limit ${limit})`, value: fmt(f.p50, "ms"), baseline: fmt(q.p50, "ms"), ratio: fmtRatio(rP50), target: "≤ 1.5×", met: rP50 <= 1.5 },
    { bench: "runaway", metric: `other room's round trip p99 during the flood (n=${f.n})`, value: fmt(f.p99, "ms"), baseline: fmt(q.p99, "ms"), ratio: fmtRatio(rP99), target: "≤ 2×", met: rP99 <= 2 },
    { bench: "runaway", metric: `flood the agent got out while measured (${rounds} flood${rounds === 1 ? "" : "s"})`, value: `${fmt(floodBytesRead / 2 ** 20, "MiB")} in ${fmt(floodSeconds, "s")}`, baseline: "", ratio: "", target: "" },
    { bench: "runaway", metric: "bot event-loop delay p99 / max", value: `${fmt(floodLoop.p99, "ms")} / ${fmt(floodLoop.max, "ms")}`, baseline: `${fmt(quietLoop.p99, "ms")} / ${fmt(quietLoop.max, "ms")}`, ratio: "", target: "" },
    { bench: "runaway", metric: "bot peak RSS during the floods (growth over before)", value: `${fmt(peakMb, "MB")} (+${fmt(peakMb - rssBefore, "MB")})`, baseline: "", ratio: "", target: "" },
  ];
}
