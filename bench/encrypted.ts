/**
 * 6. Encrypted relay: the relay round trip (user → bot → echo agent → bot →
 * user) in an end-to-end encrypted room against a plain one, both through
 * one E2EE user client (matrix-js-sdk with the Rust crypto, as Element), so
 * the difference is what encryption costs the bot and the client together.
 * Messages alternate between the rooms. The bot's trace and the user
 * client's own crypto timings split that difference between the two.
 */
import type { MatrixEvent } from "matrix-js-sdk";
import { startUserClient, type UserClient } from "../tests/support/user-client.js";
import { wallNow } from "./lib/clock.js";
import { envInt, log, type BenchContext, type Row } from "./lib/report.js";
import { cpuSeconds } from "./lib/proc.js";
import { provisionChat } from "./lib/setup.js";
import { fmt, fmtRatio, ratio, summarize } from "./lib/stats.js";
import { entries, fetchTrace, type TraceEntry } from "./lib/trace.js";

interface CryptoTimes {
  encrypt: number[];
  decrypt: number[];
}

/** Times the user client's own encryptEvent / decryptEvent (the bench's E2EE client is in this process). */
function timeUserCrypto(user: UserClient): CryptoTimes {
  const times: CryptoTimes = { encrypt: [], decrypt: [] };
  const crypto = user.client.getCrypto() as unknown as {
    encryptEvent(event: MatrixEvent, room: unknown): Promise<void>;
    decryptEvent(event: MatrixEvent): Promise<unknown>;
  };
  const encrypt = crypto.encryptEvent.bind(crypto);
  crypto.encryptEvent = async (event, room) => {
    const t = wallNow();
    await encrypt(event, room);
    times.encrypt.push(wallNow() - t);
  };
  const decrypt = crypto.decryptEvent.bind(crypto);
  crypto.decryptEvent = async (event) => {
    const t = wallNow();
    try {
      return await decrypt(event);
    } finally {
      if (event.getSender() !== user.userId) times.decrypt.push(wallNow() - t);
    }
  };
  return times;
}

async function roundTrip(user: UserClient, roomId: string, bot: string, text: string): Promise<number> {
  const t0 = wallNow();
  await user.sendText(roomId, text);
  await user.waitForMessage(roomId, (e, body) => e.getSender() === bot && body === `echo: ${text}`, 60_000);
  return wallNow() - t0;
}

/** The bot's part of one round trip, from its trace: in (sync answer → agent frame), out (agent text → send issued), the send itself. */
interface BotPart {
  in: number;
  out: number;
  send: number;
  crypto: number;
  /** IndexedDB transactions opened while this message was decrypted and its answer encrypted (other work may add some). */
  idb: number;
}

function botParts(trace: readonly TraceEntry[], roomId: string, texts: readonly string[]): BotPart[] {
  const events = new Map<string, TraceEntry & { k: "event" }>();
  for (const e of entries(trace, "event")) if (!events.has(e.body)) events.set(e.body, e);
  const outs = new Map(entries(trace, "out").map((o) => [o.text, o]));
  const decrypts = new Map(entries(trace, "decrypt").map((d) => [d.id, d]));
  const encrypts = new Map(entries(trace, "encrypt").map((e) => [e.body, e]));
  const ins = entries(trace, "in");
  const sends = entries(trace, "send").filter((s) => s.room === roomId);
  const parts: BotPart[] = [];
  for (const text of texts) {
    const ev = events.get(text);
    const out = outs.get(text);
    if (!ev || !out) continue;
    const lastText = ins.filter((f) => f.rid === out.rid && f.type === "text").at(-1);
    const send = lastText && sends.find((s) => s.t >= lastText.t);
    if (!lastText || !send) continue;
    const dec = decrypts.get(ev.id);
    const enc = encrypts.get(`echo: ${text}`);
    const crypto = (dec?.ms ?? 0) + (enc?.ms ?? 0);
    parts.push({ in: out.t - ev.sync, out: send.t - lastText.t, send: send.done - send.t, crypto, idb: (dec?.idb ?? 0) + (enc?.idb ?? 0) });
  }
  return parts;
}

const p50 = (xs: readonly number[]): number => summarize(xs).p50;

export async function runEncrypted(ctx: BenchContext): Promise<Row[]> {
  const n = envInt("BENCH_E2EE_MESSAGES", 100);
  const warmup = envInt("BENCH_WARMUP", 20);
  const encrypted = await provisionChat(ctx.bot, ctx.alice, 9, undefined, { encrypted: true });
  const plain = ctx.rooms.relay;
  const { device_id: deviceId } = await ctx.alice.req<{ device_id: string }>("GET", "/_matrix/client/v3/account/whoami");
  const user = await startUserClient(ctx.alice.baseUrl, { userId: ctx.alice.userId, accessToken: ctx.alice.token, deviceId }, { crypto: true, initialSyncLimit: 1 });
  const userCrypto = timeUserCrypto(user);
  const enc: number[] = [];
  const clear: number[] = [];
  const encTexts: string[] = [];
  const plainTexts: string[] = [];
  const nonce = Date.now().toString(36);
  const cpu = { enc: { bot: Number.NaN, user: Number.NaN }, plain: { bot: Number.NaN, user: Number.NaN } };
  log(`encrypted relay: ${warmup} warm-up + ${n} messages each way`);
  await fetchTrace(ctx.botChild); // drop what came before
  try {
    for (let i = 0; i < warmup + n; i++) {
      if (i === warmup) {
        userCrypto.encrypt.length = 0;
        userCrypto.decrypt.length = 0;
      }
      const eText = `e2ee ${nonce} ${i}`;
      const pText = `plain ${nonce} ${i}`;
      const viaEnc = () => roundTrip(user, encrypted, ctx.bot.userId, eText);
      const viaPlain = () => roundTrip(user, plain, ctx.bot.userId, pText);
      let e: number;
      let p: number;
      if (i % 2 === 0) {
        e = await viaEnc();
        p = await viaPlain();
      } else {
        p = await viaPlain();
        e = await viaEnc();
      }
      if (i < warmup) continue;
      enc.push(e);
      clear.push(p);
      encTexts.push(eText);
      plainTexts.push(pText);
    }
    // CPU per round trip, one room at a time: what encryption costs each side, whatever the machine's load.
    const cpuN = envInt("BENCH_E2EE_CPU_MESSAGES", 40);
    const phase = async (roomId: string, label: string): Promise<{ bot: number; user: number }> => {
      const bot0 = cpuSeconds(ctx.botChild.pid);
      const user0 = process.cpuUsage();
      for (let i = 0; i < cpuN; i++) await roundTrip(user, roomId, ctx.bot.userId, `${label} ${nonce} ${i}`);
      const userUs = process.cpuUsage(user0);
      return { bot: ((cpuSeconds(ctx.botChild.pid) - bot0) * 1000) / cpuN, user: (userUs.user + userUs.system) / 1000 / cpuN };
    };
    cpu.enc = await phase(encrypted, "cpu-e2ee");
    cpu.plain = await phase(plain, "cpu-plain");
  } finally {
    user.stop();
  }
  const trace = await fetchTrace(ctx.botChild);
  const be = botParts(trace, encrypted, encTexts);
  const bp = botParts(trace, plain, plainTexts);
  const es = summarize(enc);
  const ps = summarize(clear);
  const r = ratio(es.p50, ps.p50);
  const total = (b: BotPart): number => b.in + b.out + b.send;
  const botShare = p50(be.map(total)) - p50(bp.map(total));
  const userShare = p50(userCrypto.encrypt) + p50(userCrypto.decrypt);
  const pair = (f: (b: BotPart) => number): string => `${fmt(p50(be.map(f)))} / ${fmt(p50(bp.map(f)))} ms`;
  return [
    { bench: "encrypted relay", metric: "round trip p50, encrypted room", value: fmt(es.p50, " ms"), baseline: fmt(ps.p50, " ms"), ratio: fmtRatio(r), target: "≤ 1.2×", met: r <= 1.2 },
    { bench: "encrypted relay", metric: "round trip p99, encrypted room", value: fmt(es.p99, " ms"), baseline: fmt(ps.p99, " ms"), ratio: fmtRatio(ratio(es.p99, ps.p99)), target: "" },
    { bench: "encrypted relay", metric: `bot: in + out + its send, p50 encrypted / plain (n=${be.length}/${bp.length})`, value: pair(total), baseline: "", ratio: "", target: "" },
    { bench: "encrypted relay", metric: "  in: /sync answer → message frame sent", value: pair((b) => b.in), baseline: "", ratio: "", target: "" },
    { bench: "encrypted relay", metric: "  out: last text frame → send issued", value: pair((b) => b.out), baseline: "", ratio: "", target: "" },
    { bench: "encrypted relay", metric: "  its send: PUT issued → homeserver answered", value: pair((b) => b.send), baseline: "", ratio: "", target: "" },
    { bench: "encrypted relay", metric: "  bot's decryptEvent + encryptEvent, p50", value: fmt(p50(be.map((b) => b.crypto)), "ms"), baseline: "", ratio: "", target: "" },
    { bench: "encrypted relay", metric: "  IndexedDB transactions in them, p50", value: fmt(p50(be.map((b) => b.idb))), baseline: "", ratio: "", target: "" },
    { bench: "encrypted relay", metric: "bot's share of the difference (p50 of its part, encrypted − plain)", value: fmt(botShare, "ms"), baseline: fmt(es.p50 - ps.p50, "ms total"), ratio: "", target: "" },
    { bench: "encrypted relay", metric: "bot CPU per round trip, encrypted / plain room", value: `${fmt(cpu.enc.bot)} / ${fmt(cpu.plain.bot)} ms`, baseline: "", ratio: fmtRatio(ratio(cpu.enc.bot, cpu.plain.bot)), target: "" },
    { bench: "encrypted relay", metric: "bench process (user client) CPU per round trip, encrypted / plain", value: `${fmt(cpu.enc.user)} / ${fmt(cpu.plain.user)} ms`, baseline: "", ratio: fmtRatio(ratio(cpu.enc.user, cpu.plain.user)), target: "" },
    { bench: "encrypted relay", metric: "user client's encryptEvent + decryptEvent, p50", value: fmt(userShare, "ms"), baseline: `${fmt(p50(userCrypto.encrypt))} + ${fmt(p50(userCrypto.decrypt))} ms`, ratio: "", target: "" },
  ];
}
