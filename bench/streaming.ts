/**
 * 3. Streaming: a 2,000-chunk answer (`/chunks 2000`). Matrix events the bot
 * sends for it, the time from the agent's first frame to the first text the
 * user sees (against 50 ms + one plain send measured now), and whether the
 * final text is exact.
 */
import { chunkText } from "../src/reference-agent/directives.js";
import { sleep, wallNow } from "./lib/clock.js";
import { shownBody, type RawEvent } from "./lib/cs-api.js";
import { envInt, log, type BenchContext, type Row } from "./lib/report.js";
import { fmt, percentile } from "./lib/stats.js";
import { entries, fetchTrace } from "./lib/trace.js";

/** The bot's messages after `afterId`, edits folded in, concatenated. */
function shownAnswer(events: readonly RawEvent[], afterId: string, bot: string): { text: string; events: number; messages: number } {
  const start = events.findIndex((e) => e.event_id === afterId);
  const mine = events.slice(start + 1).filter((e) => e.type === "m.room.message" && e.sender === bot);
  const originals = new Map<string, string>();
  for (const e of mine) {
    const rel = e.content["m.relates_to"] as { rel_type?: string; event_id?: string } | undefined;
    if (rel?.rel_type === "m.replace" && rel.event_id) {
      if (originals.has(rel.event_id)) originals.set(rel.event_id, shownBody(e) ?? "");
    } else originals.set(e.event_id, shownBody(e) ?? "");
  }
  return { text: [...originals.values()].join(""), events: mine.length, messages: originals.size };
}

export async function runStreaming(ctx: BenchContext): Promise<Row[]> {
  const count = envInt("BENCH_CHUNKS", 2000);
  const { alice, aliceSync, rooms } = ctx;
  // One plain homeserver send, measured now: the bot's account sends with the
  // raw API and the user sees it through /sync — the allowance the target adds.
  const sends: number[] = [];
  for (let i = 0; i < 30; i++) {
    const body = `plain send ${i}`;
    const seen = aliceSync.waitFor((e) => e.roomId === rooms.scratch && e.event.content["body"] === body, 30_000);
    const t0 = wallNow();
    await ctx.bot.sendText(rooms.scratch, body);
    sends.push((await seen).at - t0);
  }
  const sendP50 = percentile(sends, 50);

  log(`streaming: /chunks ${count}`);
  await fetchTrace(ctx.botChild); // drop earlier entries
  const firstSeen = aliceSync.waitFor((e) => e.roomId === rooms.stream && e.event.sender === ctx.bot.userId, 60_000);
  const prompt = `/chunks ${count}`;
  const t0 = wallNow();
  const promptId = await alice.sendText(rooms.stream, prompt);
  const first = await firstSeen;
  const expected = chunkText(count);
  let answer = { text: "", events: 0, messages: 0 };
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    answer = shownAnswer(await alice.messages(rooms.stream), promptId, ctx.bot.userId);
    if (answer.text.trim() === expected.trim()) break;
    await sleep(500);
  }
  const done = wallNow();
  const trace = await fetchTrace(ctx.botChild);
  const out = entries(trace, "out").find((o) => o.text === prompt);
  const frames = entries(trace, "in").filter((f) => f.rid === out?.rid);
  const firstFrame = frames.find((f) => f.type === "text");
  const end = frames.find((f) => f.type === "end");
  const firstVisible = firstFrame ? first.at - firstFrame.t : Number.NaN;
  const firstPut = entries(trace, "put").find((p) => firstFrame && p.t >= firstFrame.t);
  const allowance = 50 + sendP50;
  const exact = answer.text === expected;
  const exactTrimmed = answer.text.trim() === expected.trim();
  return [
    { bench: "streaming", metric: `Matrix events sent for ${count} chunks (messages + edits)`, value: `${answer.events} (${answer.messages} message${answer.messages === 1 ? "" : "s"})`, baseline: `${count} frames`, ratio: "", target: "" },
    { bench: "streaming", metric: "agent's first frame → first text visible to the user", value: fmt(firstVisible, "ms"), baseline: `one send, sent → seen, p50 ${fmt(sendP50, "ms")}`, ratio: "", target: `≤ 50 ms + one send = ${fmt(allowance, "ms")}`, met: firstVisible <= allowance },
    { bench: "streaming", metric: "  of which agent's first frame → first send issued (bot)", value: firstFrame && firstPut ? fmt(firstPut.t - firstFrame.t, "ms") : "n/a", baseline: "", ratio: "", target: "" },
    { bench: "streaming", metric: "agent's first → last frame", value: firstFrame && end ? fmt(end.t - firstFrame.t, "ms") : "n/a", baseline: "", ratio: "", target: "" },
    { bench: "streaming", metric: "prompt sent → final text shown (polled every 0.5 s)", value: fmt(done - t0, "ms"), baseline: "", ratio: "", target: "" },
    { bench: "streaming", metric: "final text exact", value: exact ? "yes" : exactTrimmed ? "yes (up to trailing space)" : `NO (${answer.text.length} vs ${expected.length} chars)`, baseline: "", ratio: "", target: "exact", met: exactTrimmed },
  ];
}
