/**
 * 1. Relay overhead: user → bot → reference agent (instant echo) → bot → user,
 * against the floor (the same two hops through the same Synapse by a minimal
 * raw-API echo client). Messages alternate between the two so drift in the
 * homeserver hits both alike. The bot's own time comes from its trace.
 */
import { wallNow } from "./lib/clock.js";
import { shownBody, type SyncLoop } from "./lib/cs-api.js";
import { envInt, log, type BenchContext, type Row } from "./lib/report.js";
import { fmt, fmtRatio, ratio, summarize } from "./lib/stats.js";
import { entries, fetchTrace } from "./lib/trace.js";

export async function roundTrip(sync: SyncLoop, send: () => Promise<unknown>, roomId: string, from: string, expected: string): Promise<number> {
  const answered = sync.waitFor((e) => e.roomId === roomId && e.event.sender === from && shownBody(e.event) === expected, 60_000);
  const t0 = wallNow();
  await send();
  return (await answered).at - t0;
}

export async function runRelay(ctx: BenchContext): Promise<Row[]> {
  const n = envInt("BENCH_MESSAGES", 500);
  const warmup = envInt("BENCH_WARMUP", 20);
  const nonce = Date.now().toString(36);
  const bot: number[] = [];
  const floor: number[] = [];
  const measured = new Set<string>();
  const { alice, aliceSync, rooms } = ctx;
  log(`relay: ${warmup} warm-up + ${n} messages each way`);
  for (let i = 0; i < warmup + n; i++) {
    const botText = `relay ${nonce} ${i}`;
    const floorText = `floor ${nonce} ${i}`;
    const viaBot = () => roundTrip(aliceSync, () => alice.sendText(rooms.relay, botText), rooms.relay, ctx.bot.userId, `echo: ${botText}`);
    const viaFloor = () => roundTrip(aliceSync, () => alice.sendText(rooms.floor, floorText), rooms.floor, ctx.echo.userId, `echo: ${floorText}`);
    // Alternate who goes first so neither always follows the other's tail.
    let botMs: number;
    let floorMs: number;
    if (i % 2 === 0) {
      botMs = await viaBot();
      floorMs = await viaFloor();
    } else {
      floorMs = await viaFloor();
      botMs = await viaBot();
    }
    if (i < warmup) continue;
    bot.push(botMs);
    floor.push(floorMs);
    measured.add(botText);
    if ((i - warmup + 1) % 100 === 0) log(`relay: ${i - warmup + 1}/${n}`);
  }

  // The bot's own time, from its trace.
  const trace = await fetchTrace(ctx.botChild);
  const inbound: number[] = [];
  const inboundAfterSdk: number[] = [];
  const outbound: number[] = [];
  const putsPerAnswer: number[] = [];
  const events = new Map(entries(trace, "event").map((e) => [e.body, e]));
  const outs = new Map(entries(trace, "out").map((o) => [o.text, o]));
  const ins = entries(trace, "in");
  const puts = entries(trace, "put");
  for (const text of measured) {
    const ev = events.get(text);
    const out = outs.get(text);
    if (!ev || !out) continue;
    inbound.push(out.t - ev.sync);
    inboundAfterSdk.push(out.t - ev.t);
    const lastText = ins.filter((f) => f.rid === out.rid && f.type === "text").at(-1);
    const complete = puts.find((p) => p.body === `echo: ${text}`);
    if (lastText && complete) outbound.push(complete.t - lastText.t);
    if (complete) putsPerAnswer.push(puts.filter((p) => p.t >= out.t && p.t <= complete.t && (p.body === "echo: " || p.body.endsWith(text))).length);
  }
  const b = summarize(bot);
  const f = summarize(floor);
  const inS = summarize(inbound);
  const inSdk = summarize(inboundAfterSdk);
  const outS = summarize(outbound);
  const added = inbound.map((v, i) => v + (outbound[i] ?? 0));
  const addS = summarize(added);
  const sends = summarize(putsPerAnswer);
  const rP50 = ratio(b.p50, f.p50);
  const rP99 = ratio(b.p99, f.p99);
  return [
    { bench: "relay", metric: `round trip p50 (n=${b.n})`, value: fmt(b.p50, "ms"), baseline: fmt(f.p50, "ms"), ratio: fmtRatio(rP50), target: "≤ 1.15×", met: rP50 <= 1.15 },
    { bench: "relay", metric: `round trip p99 (n=${b.n})`, value: fmt(b.p99, "ms"), baseline: fmt(f.p99, "ms"), ratio: fmtRatio(rP99), target: "≤ 1.3×", met: rP99 <= 1.3 },
    { bench: "relay", metric: "bot added time p50 (in + out)", value: fmt(addS.p50, "ms"), baseline: "", ratio: "", target: "≤ 5 ms", met: addS.p50 <= 5 },
    { bench: "relay", metric: "bot added time p99 (in + out)", value: fmt(addS.p99, "ms"), baseline: "", ratio: "", target: "" },
    { bench: "relay", metric: "in: /sync answer → message frame sent, p50 / p99", value: `${fmt(inS.p50)} / ${fmt(inS.p99)} ms`, baseline: "", ratio: "", target: "" },
    { bench: "relay", metric: "  of which after the SDK emitted the event, p50 / p99", value: `${fmt(inSdk.p50)} / ${fmt(inSdk.p99)} ms`, baseline: "", ratio: "", target: "" },
    { bench: "relay", metric: "out: last text frame → send issued, p50 / p99", value: `${fmt(outS.p50)} / ${fmt(outS.p99)} ms`, baseline: "", ratio: "", target: "" },
    { bench: "relay", metric: "Matrix sends per echo answer, p50 / max", value: `${sends.p50} / ${sends.max}`, baseline: "1 (floor)", ratio: "", target: "" },
  ];
}
