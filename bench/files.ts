/**
 * 4. Files: a 100 MB file each way through the bot, against a plain upload
 * and download of the same file with the same Synapse in this run, and the
 * bot's peak RSS growth (VmHWM after clear_refs, cross-checked by sampling).
 * BENCH_FILE_ROUNDS rounds (default 3); each transfer is compared with the
 * plain one of its own round and the median ratio is reported, since one
 * 100 MB transfer swings widely between runs.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, linkSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { wallNow } from "./lib/clock.js";
import type { Cs } from "./lib/cs-api.js";
import { memory, resetPeak, rssSampler } from "./lib/proc.js";
import { envInt, log, type BenchContext, type Row } from "./lib/report.js";
import { fmt, fmtRatio, percentile, ratio } from "./lib/stats.js";
import { entries, fetchTrace } from "./lib/trace.js";

async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const chunk = 1024 * 1024;
  let left = bytes;
  await pipeline(
    Readable.from((function* () {
      while (left > 0) {
        const n = Math.min(chunk, left);
        left -= n;
        yield randomBytes(n);
      }
    })()),
    createWriteStream(file),
  );
}

async function plainUpload(cs: Cs, file: string, size: number): Promise<string> {
  const res = await fetch(new URL("/_matrix/media/v3/upload?filename=big.bin", cs.baseUrl), {
    method: "POST",
    headers: { authorization: `Bearer ${cs.token}`, "content-type": "application/octet-stream", "content-length": String(size) },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
    duplex: "half",
  });
  const json = (await res.json()) as { content_uri?: string };
  if (!json.content_uri) throw new Error(`upload failed: ${res.status}`);
  return json.content_uri;
}

async function plainDownload(cs: Cs, mxc: string, file: string): Promise<void> {
  const [server, id] = mxc.slice("mxc://".length).split("/");
  const res = await fetch(new URL(`/_matrix/client/v1/media/download/${server}/${id}`, cs.baseUrl), { headers: { authorization: `Bearer ${cs.token}` } });
  if (!res.ok || !res.body) throw new Error(`download failed: ${res.status}`);
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(file));
}

const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

interface Round {
  plainUp: number;
  plainDown: number;
  inRate: number;
  outRate: number;
  uploadRate: number;
  prepMs: number;
  inGrowth: number;
  outGrowth: number;
  inBefore: number;
  outBefore: number;
  writtenSize: number;
  sentSize: number | undefined;
}

/** One transfer each way through the bot, each next to a plain transfer of the same file. */
async function round(ctx: BenchContext, src: string, size: number, i: number): Promise<Round> {
  const { alice, aliceSync, rooms, world } = ctx;
  const pid = ctx.botChild.pid;
  const inName = `big-in-${i}.bin`;
  const outName = `big-out-${i}.bin`;

  // Baselines: the same file, plain upload and download by a raw client.
  let t = wallNow();
  const mxc = await plainUpload(alice, src, size);
  const plainUp = mbps(size, wallNow() - t);
  t = wallNow();
  await plainDownload(alice, mxc, path.join(world.dir, "plain-download.bin"));
  const plainDown = mbps(size, wallNow() - t);
  rmSync(path.join(world.dir, "plain-download.bin"));

  // Inbound: user → bot → agent's inbox.
  await ctx.botChild.ask("gc");
  await fetchTrace(ctx.botChild);
  const inBefore = memory(pid).rssMb;
  resetPeak(pid);
  let sampler = rssSampler(pid);
  const inPattern = new RegExp(inName.replace(/\./g, "\\."));
  const inAnswered = aliceSync.waitFor((e) => e.roomId === rooms.files && e.event.sender === ctx.bot.userId && inPattern.test(JSON.stringify(e.event.content)), 300_000);
  await alice.send(rooms.files, { msgtype: "m.file", body: inName, url: mxc, info: { size, mimetype: "application/octet-stream" } });
  await inAnswered;
  const inPeak = Math.max(memory(pid).hwmMb, sampler.stop());
  let trace = await fetchTrace(ctx.botChild);
  const ev = entries(trace, "event").find((e) => e.body === inName);
  const out = entries(trace, "out").at(-1);
  const inMs = ev && out ? out.t - ev.sync : Number.NaN;
  const inbox = path.join(world.workspace, "inbox");
  const written = readdirSync(inbox, { recursive: true, withFileTypes: true }).filter((d) => d.isFile() && d.name.endsWith(inName));
  const writtenFile = written[0] ? path.join(written[0].parentPath, written[0].name) : undefined;
  const writtenSize = writtenFile ? statSync(writtenFile).size : -1;
  if (writtenFile) rmSync(writtenFile);

  // Outbound: agent's workspace → bot → user.
  linkSync(src, path.join(world.workspace, outName));
  await ctx.botChild.ask("gc");
  const outBefore = memory(pid).rssMb;
  resetPeak(pid);
  sampler = rssSampler(pid);
  const outAnswered = aliceSync.waitFor(
    (e) => e.roomId === rooms.files && e.event.sender === ctx.bot.userId && e.event.content["msgtype"] === "m.file" && JSON.stringify(e.event.content).includes(outName),
    300_000,
  );
  await alice.sendText(rooms.files, `/file ${outName}`);
  const fileEvent = await outAnswered;
  const outPeak = Math.max(memory(pid).hwmMb, sampler.stop());
  trace = await fetchTrace(ctx.botChild);
  const fileFrame = entries(trace, "in").find((f) => f.type === "file");
  const put = entries(trace, "put").find((p) => p.msgtype === "m.file");
  const outMs = fileFrame && put ? put.t - fileFrame.t : Number.NaN;
  const uploads = entries(trace, "media").filter((m) => m.what === "upload");
  const upStart = uploads.find((m) => m.phase === "start");
  const upDone = uploads.find((m) => m.phase === "headers");
  const uploadMs = upStart && upDone ? upDone.t - upStart.t : Number.NaN;
  rmSync(path.join(world.workspace, outName));
  return {
    plainUp,
    plainDown,
    inRate: mbps(size, inMs),
    outRate: mbps(size, outMs),
    uploadRate: mbps(size, uploadMs),
    prepMs: upStart && fileFrame ? upStart.t - fileFrame.t : Number.NaN,
    inGrowth: inPeak - inBefore,
    outGrowth: outPeak - outBefore,
    inBefore,
    outBefore,
    writtenSize,
    sentSize: (fileEvent.event.content["info"] as { size?: number } | undefined)?.size,
  };
}

export async function runFiles(ctx: BenchContext): Promise<Row[]> {
  const mb = envInt("BENCH_FILE_MB", 100);
  const n = envInt("BENCH_FILE_ROUNDS", 3);
  const size = mb * 1e6;
  const src = path.join(ctx.world.dir, "big.bin");
  await writeRandomFile(src, size);
  log(`files: ${mb} MB each way, ${n} rounds (medians reported)`);
  const rounds: Round[] = [];
  for (let i = 0; i < n; i++) rounds.push(await round(ctx, src, size, i));
  rmSync(src);

  // Each transfer against the plain one of its own round, then the median of those.
  const med = (f: (r: Round) => number): number => percentile(rounds.map(f), 50);
  const spread = (f: (r: Round) => number): string => rounds.map((r) => fmtRatio(f(r))).join(", ");
  const inRatio = (r: Round) => ratio(r.inRate, r.plainDown);
  const outRatio = (r: Round) => ratio(r.outRate, r.plainUp);
  const inGrowth = Math.max(...rounds.map((r) => r.inGrowth));
  const outGrowth = Math.max(...rounds.map((r) => r.outGrowth));
  const exact = (ok: (r: Round) => boolean, bad: (r: Round) => string) =>
    rounds.every(ok) ? `exact size (${n} of ${n})` : rounds.filter((r) => !ok(r)).map(bad).join(", ");
  return [
    { bench: "files", metric: `in: ${mb} MB user → agent inbox (event received → frame sent), median of ${n}`, value: fmt(med((r) => r.inRate), "MB/s"), baseline: `plain download ${fmt(med((r) => r.plainDown), "MB/s")}`, ratio: `${fmtRatio(med(inRatio))} (${spread(inRatio)})`, target: "≥ 0.8×", met: med(inRatio) >= 0.8 },
    { bench: "files", metric: `in: bot peak RSS growth (max of ${n})`, value: fmt(inGrowth, "MB"), baseline: `RSS before ${fmt(med((r) => r.inBefore), "MB")}`, ratio: "", target: "≤ 50 MB", met: inGrowth <= 50 },
    { bench: "files", metric: "in: bytes written to the inbox", value: exact((r) => r.writtenSize === size, (r) => `${r.writtenSize} of ${size}`), baseline: "", ratio: "", target: "" },
    { bench: "files", metric: `out: ${mb} MB agent file frame → m.file send issued, median of ${n}`, value: fmt(med((r) => r.outRate), "MB/s"), baseline: `plain upload ${fmt(med((r) => r.plainUp), "MB/s")}`, ratio: `${fmtRatio(med(outRatio))} (${spread(outRatio)})`, target: "≥ 0.8×", met: med(outRatio) >= 0.8 },
    { bench: "files", metric: "  of which the upload request alone / checks + sniffing before it (medians)", value: `${fmt(med((r) => r.uploadRate), "MB/s")} / ${fmt(med((r) => r.prepMs), "ms")}`, baseline: `plain upload ${fmt(med((r) => r.plainUp), "MB/s")}`, ratio: fmtRatio(med((r) => ratio(r.uploadRate, r.plainUp))), target: "" },
    { bench: "files", metric: `out: bot peak RSS growth (max of ${n})`, value: fmt(outGrowth, "MB"), baseline: `RSS before ${fmt(med((r) => r.outBefore), "MB")}`, ratio: "", target: "≤ 50 MB", met: outGrowth <= 50 },
    { bench: "files", metric: "out: size in the m.file event", value: exact((r) => r.sentSize === size, (r) => String(r.sentSize)), baseline: "", ratio: "", target: "" },
  ];
}
