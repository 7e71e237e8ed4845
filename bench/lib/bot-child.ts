/**
 * The bot as a child process for the benchmarks (compiled to bench/.build,
 * run with plain node, as in production). Bench-only observers record when
 * things happen without touching src/: a fetch wrapper sees /sync answers,
 * sends and media transfers; a ws wrapper sees agent frames. The parent
 * reads the trace and process stats over IPC.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { MatrixEventEvent, type MatrixEvent } from "matrix-js-sdk";
import { writeHeapSnapshot } from "node:v8";
import { WebSocket } from "ws";
import { start, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/env.js";
import { homeserverHttp } from "../../src/matrix/http-transport.js";
import { cpuSeconds } from "./proc.js";
import { countRequests, takeRequestCounts } from "./request-count.js";

const now = (): number => performance.timeOrigin + performance.now();

export type TraceEntry =
  | { k: "sync"; t: number }
  | { k: "event"; t: number; sync: number; id: string; body: string }
  | { k: "out"; t: number; type: string; rid: string; text: string }
  | { k: "in"; t: number; type: string; rid: string }
  | { k: "put"; t: number; msgtype: string; body: string; edit: boolean }
  /** Any PUT /send/ (plain or m.room.encrypted), with when the homeserver answered. */
  | { k: "send"; t: number; done: number; room: string; type: string }
  /** The crypto's own calls: encryptEvent (with the plaintext body) and decryptEvent. */
  | { k: "encrypt"; t: number; ms: number; room: string; body: string; idb: number }
  | { k: "decrypt"; t: number; ms: number; id: string; idb: number }
  | { k: "media"; t: number; what: "upload" | "download"; phase: "start" | "headers" | "done" };

const trace: TraceEntry[] = [];
const TEXT_KEEP = 200;
let lastSync = 0;
/**
 * The first sync's start and end (the whole body in): what of start() → ready is the homeserver's.
 * A first sync loaded through sliding sync is two requests (sliding-first-sync.ts): from the first
 * one sent to the last one's body in. Only requests without `since` count.
 */
let firstSync: { start: number; done: number } | undefined;
/** The bot's CPU (every thread) when its first /sync was sent and when its body was in: what it spent beside the homeserver's work. */
const cpuAt: { syncSent?: NodeJS.CpuUsage; syncDone?: NodeJS.CpuUsage } = {};
/** Synapse's CPU (s) at the same two moments, when the parent names its pid (BENCH_SYNAPSE_PID). */
const synapsePid = Number(process.env["BENCH_SYNAPSE_PID"] ?? "0");
const synapseCpuAt: { syncSent?: number; syncDone?: number } = {};
let tracing = true;

// The SDK's requests go through the bot's own transport (src/matrix/http-transport.ts), the rest through fetch.
countRequests();
countRequests(homeserverHttp);
globalThis.fetch = traced(globalThis.fetch);
homeserverHttp.fetch = traced(homeserverHttp.fetch);

function traced(origFetch: typeof fetch): typeof fetch {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? "GET";
    const t = now();
    const isSync = url.includes("/sync?");
    const isFirstSync = isSync && !url.includes("since=");
    if (isFirstSync && !cpuAt.syncSent) {
      cpuAt.syncSent = process.cpuUsage();
      if (synapsePid > 0) synapseCpuAt.syncSent = cpuSeconds(synapsePid);
    }
    if (tracing && method === "PUT" && url.includes("/send/m.room.message/") && typeof init?.body === "string") {
      const content = JSON.parse(init.body) as Record<string, unknown>;
      const next = content["m.new_content"] as Record<string, unknown> | undefined;
      const shown = next ?? content;
      const body = typeof shown["body"] === "string" ? shown["body"] : "";
      trace.push({ k: "put", t, msgtype: String(shown["msgtype"]), body: body.slice(0, TEXT_KEEP), edit: next !== undefined });
    }
    const media = url.includes("/media/v3/upload") ? "upload" : url.includes("/media/download/") ? "download" : null;
    if (media) trace.push({ k: "media", t, what: media, phase: "start" });
    const send = tracing && method === "PUT" ? /\/rooms\/([^/]+)\/send\/([^/]+)\//.exec(url) : null;
    const res = await origFetch(input, init);
    if (send) trace.push({ k: "send", t, done: now(), room: decodeURIComponent(send[1] ?? ""), type: decodeURIComponent(send[2] ?? "") });
    if (isFirstSync) {
      if (synapsePid > 0) synapseCpuAt.syncDone = cpuSeconds(synapsePid);
      cpuAt.syncDone = process.cpuUsage();
      firstSync = { start: firstSync?.start ?? t, done: now() };
    }
    if (isSync) {
      lastSync = now();
      if (tracing) trace.push({ k: "sync", t: lastSync });
    }
    if (media) trace.push({ k: "media", t: now(), what: media, phase: "headers" });
    return res;
  };
}

type SendFn = (data: unknown, ...rest: unknown[]) => void;
type EmitFn = (event: string | symbol, ...args: unknown[]) => boolean;
const proto = WebSocket.prototype as unknown as { send: SendFn; emit: EmitFn };
const origSend = proto.send;
proto.send = function (this: unknown, data: unknown, ...rest: unknown[]) {
  if (tracing && typeof data === "string" && data.startsWith('{"type":"message"')) {
    const f = JSON.parse(data) as { type: string; request_id: string; text: string };
    trace.push({ k: "out", t: now(), type: f.type, rid: f.request_id, text: f.text.slice(0, TEXT_KEEP) });
  }
  return origSend.call(this, data, ...rest);
};
const origEmit = proto.emit;
proto.emit = function (this: unknown, event: string | symbol, ...args: unknown[]) {
  if (tracing && event === "message") {
    const t = now();
    const raw = String(args[0]);
    const type = /"type":"(\w+)"/.exec(raw)?.[1] ?? "?";
    const rid = /"request_id":"([^"]+)"/.exec(raw)?.[1] ?? "";
    trace.push({ k: "in", t, type, rid });
  }
  return origEmit.call(this, event, ...args);
};

let app: App | undefined;
/**
 * How late the bot's event loop runs timers: what a blocked loop costs every
 * room. Its 5 ms timer costs ≈ 6 ms of CPU a second, so BENCH_LOOP_DELAY=0
 * (the start-up bench, which reads the bot's CPU) leaves it off.
 */
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
const watchLoop = process.env["BENCH_LOOP_DELAY"] !== "0";
if (watchLoop) loopDelay.enable();

// BENCH_CPU_PROF=<file>: a V8 CPU profile of the bot from ready to stop (for finding its hot paths);
// with BENCH_CPU_PROF_STARTUP=1, of its start-up instead: from start() to ready; with
// BENCH_CPU_PROF_PHASE=1, of the measured bot phase of the rooms bench only (from "quiet" to "unquiet").
const profileFile = process.env["BENCH_CPU_PROF"];
const profiler = profileFile ? new Session() : undefined;
const profileStartup = process.env["BENCH_CPU_PROF_STARTUP"] === "1";
const profilePhase = process.env["BENCH_CPU_PROF_PHASE"] === "1";

async function stopProfiler(): Promise<void> {
  if (!profiler || !profileFile) return;
  const { profile } = await profiler.post("Profiler.stop");
  writeFileSync(profileFile, JSON.stringify(profile));
}

async function startProfiler(): Promise<void> {
  if (!profiler) return;
  profiler.connect();
  await profiler.post("Profiler.enable");
  await profiler.post("Profiler.start");
}

async function main(): Promise<void> {
  tracing = process.env["BENCH_TRACE"] !== "0";
  if (profileStartup) await startProfiler();
  const t0 = now();
  const cpu0 = process.cpuUsage();
  app = await start(loadConfig(process.env));
  await app.ready;
  const readyMs = now() - t0;
  const cpuReady = process.cpuUsage();
  if (profileStartup) await stopProfiler();
  const bot = app.config.botUserId;
  app.client.on("event" as never, ((ev: { getType(): string; getSender(): string; getId(): string; getContent(): Record<string, unknown> }) => {
    if (!tracing || ev.getType() !== "m.room.message" || ev.getSender() === bot) return;
    const body = ev.getContent()["body"];
    trace.push({ k: "event", t: now(), sync: lastSync, id: ev.getId(), body: typeof body === "string" ? body.slice(0, TEXT_KEEP) : "" });
  }) as never);
  observeCrypto(app);
  if (!profileStartup && !profilePhase) await startProfiler();
  const ms = (from: NodeJS.CpuUsage, to: NodeJS.CpuUsage | undefined): number => (to ? (to.user - from.user + to.system - from.system) / 1000 : Number.NaN);
  const synapseMs = synapseCpuAt.syncSent !== undefined && synapseCpuAt.syncDone !== undefined ? (synapseCpuAt.syncDone - synapseCpuAt.syncSent) * 1000 : undefined;
  const cpu = cpuAt.syncSent && {
    beforeMs: ms(cpu0, cpuAt.syncSent),
    duringMs: ms(cpuAt.syncSent, cpuAt.syncDone),
    afterMs: ms(cpuAt.syncDone ?? cpuReady, cpuReady),
    ...(synapseMs !== undefined && { synapseDuringMs: synapseMs }),
  };
  const sync = firstSync && { startMs: firstSync.start - t0, doneMs: firstSync.done - t0, ...(cpu && { cpu }) };
  process.send?.({ type: "ready", readyMs, rooms: app.store.rooms.count(), ...(sync ? { firstSync: sync } : {}) });
}

interface CryptoCalls {
  encryptEvent(event: MatrixEvent, room: { roomId: string }): Promise<void>;
  decryptEvent(event: MatrixEvent): Promise<unknown>;
}

/**
 * Times the Rust crypto's encryptEvent and decryptEvent on the live backend
 * object (the bot looks it up on every call), and sees a message once it
 * is decrypted: what encryption adds to the bot's part of a round trip.
 */
function observeCrypto(running: App): void {
  const bot = running.config.botUserId;
  // IndexedDB transactions the crypto opens (each one a SQLite transaction through the shim).
  let idb = 0;
  const dbProto = (globalThis as unknown as { IDBDatabase?: { prototype: { transaction: (this: unknown, ...args: unknown[]) => unknown } } }).IDBDatabase?.prototype;
  if (dbProto) {
    const transaction = dbProto.transaction;
    dbProto.transaction = function (this: unknown, ...args: unknown[]) {
      idb++;
      return transaction.apply(this, args);
    };
  }
  const crypto = running.client.getCrypto() as unknown as CryptoCalls | undefined;
  if (!crypto) return;
  const encrypt = crypto.encryptEvent.bind(crypto);
  crypto.encryptEvent = async (event, room) => {
    const t = now();
    const idb0 = idb;
    await encrypt(event, room);
    const content = event.getContent();
    const shown = (content["m.new_content"] ?? content) as Record<string, unknown>;
    const body = typeof shown["body"] === "string" ? shown["body"].slice(0, TEXT_KEEP) : "";
    if (tracing) trace.push({ k: "encrypt", t, ms: now() - t, room: room.roomId, body, idb: idb - idb0 });
  };
  const decrypt = crypto.decryptEvent.bind(crypto);
  crypto.decryptEvent = async (event) => {
    const t = now();
    const idb0 = idb;
    try {
      return await decrypt(event);
    } finally {
      if (tracing) trace.push({ k: "decrypt", t, ms: now() - t, id: event.getId() ?? "", idb: idb - idb0 });
    }
  };
  running.client.on(MatrixEventEvent.Decrypted, (ev: MatrixEvent) => {
    if (!tracing || ev.isDecryptionFailure() || ev.getType() !== "m.room.message" || ev.getSender() === bot) return;
    const body: unknown = ev.getContent()["body"];
    trace.push({ k: "event", t: now(), sync: lastSync, id: ev.getId() ?? "", body: typeof body === "string" ? body.slice(0, TEXT_KEEP) : "" });
  });
}

process.on("message", (msg: { cmd: string; id: number }) => {
  const reply = (data: object): void => void process.send?.({ type: "reply", id: msg.id, ...data });
  switch (msg.cmd) {
    case "stats":
      reply({ cpu: process.cpuUsage(), mem: process.memoryUsage() });
      return;
    case "loop-delay":
      // Milliseconds; the reading restarts with each ask.
      reply({ p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 });
      loopDelay.reset();
      return;
    case "trace":
      reply({ trace: trace.splice(0) });
      return;
    case "quiet":
      // No bench bookkeeping while the bot's CPU is measured against the floor client, which has none.
      tracing = false;
      loopDelay.disable();
      void (profilePhase ? startProfiler() : Promise.resolve()).then(() => reply({}));
      return;
    case "unquiet":
      tracing = process.env["BENCH_TRACE"] !== "0";
      if (watchLoop) loopDelay.enable();
      void (profilePhase ? stopProfiler() : Promise.resolve()).then(() => reply({}));
      return;
    case "requests":
      reply({ counts: takeRequestCounts() });
      return;
    case "heap-snapshot":
      // BENCH_HEAP_SNAPSHOT=<dir>: where the bot's memory goes (open the file in Chrome DevTools).
      reply({ file: writeHeapSnapshot(`${process.env["BENCH_HEAP_SNAPSHOT"] ?? "."}/bot-${process.pid}.heapsnapshot`) });
      return;
    case "gc":
      (globalThis as { gc?: () => void }).gc?.();
      reply({});
      return;
    case "stop":
      void (async () => {
        if (!profileStartup && !profilePhase) await stopProfiler();
        await app?.stop();
        reply({});
        process.exit(0);
      })();
      return;
  }
});

main().catch((err: unknown) => {
  process.send?.({ type: "error", message: String((err as Error).stack ?? err) });
  process.exit(1);
});
