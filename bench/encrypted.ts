/**
 * 6. Encrypted relay: the relay round trip (user → bot → echo agent → bot →
 * user) in an end-to-end encrypted room against a plain one, both through
 * one E2EE user client (matrix-js-sdk with the Rust crypto, as Element), so
 * the difference is what encryption costs the bot and the client together.
 * Messages alternate between the rooms.
 */
import { startUserClient, type UserClient } from "../tests/support/user-client.js";
import { wallNow } from "./lib/clock.js";
import { envInt, log, type BenchContext, type Row } from "./lib/report.js";
import { provisionChat } from "./lib/setup.js";
import { fmt, fmtRatio, ratio, summarize } from "./lib/stats.js";

async function roundTrip(user: UserClient, roomId: string, bot: string, text: string): Promise<number> {
  const t0 = wallNow();
  await user.sendText(roomId, text);
  await user.waitForMessage(roomId, (e, body) => e.getSender() === bot && body === `echo: ${text}`, 60_000);
  return wallNow() - t0;
}

export async function runEncrypted(ctx: BenchContext): Promise<Row[]> {
  const n = envInt("BENCH_E2EE_MESSAGES", 100);
  const warmup = envInt("BENCH_WARMUP", 20);
  const encrypted = await provisionChat(ctx.bot, ctx.alice, 9, undefined, { encrypted: true });
  const plain = ctx.rooms.relay;
  const { device_id: deviceId } = await ctx.alice.req<{ device_id: string }>("GET", "/_matrix/client/v3/account/whoami");
  const user = await startUserClient(ctx.alice.baseUrl, { userId: ctx.alice.userId, accessToken: ctx.alice.token, deviceId }, { crypto: true, initialSyncLimit: 1 });
  const enc: number[] = [];
  const clear: number[] = [];
  const nonce = Date.now().toString(36);
  log(`encrypted relay: ${warmup} warm-up + ${n} messages each way`);
  try {
    for (let i = 0; i < warmup + n; i++) {
      const viaEnc = () => roundTrip(user, encrypted, ctx.bot.userId, `e2ee ${nonce} ${i}`);
      const viaPlain = () => roundTrip(user, plain, ctx.bot.userId, `plain ${nonce} ${i}`);
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
    }
  } finally {
    user.stop();
  }
  const es = summarize(enc);
  const ps = summarize(clear);
  const r = ratio(es.p50, ps.p50);
  return [
    { bench: "encrypted relay", metric: "round trip p50, encrypted room", value: fmt(es.p50, " ms"), baseline: fmt(ps.p50, " ms"), ratio: fmtRatio(r), target: "≤ 1.2×", met: r <= 1.2 },
    { bench: "encrypted relay", metric: "round trip p99, encrypted room", value: fmt(es.p99, " ms"), baseline: fmt(ps.p99, " ms"), ratio: fmtRatio(ratio(es.p99, ps.p99)), target: "" },
  ];
}
