/**
 * 4. Files: a 100 MB file each way through the bot, against a plain upload
 * and download of the same file with the same Synapse in this run, and the
 * bot's peak RSS growth (VmHWM after clear_refs, cross-checked by sampling).
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
import { fmt, fmtRatio, ratio } from "./lib/stats.js";
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

export async function runFiles(ctx: BenchContext): Promise<Row[]> {
  const mb = envInt("BENCH_FILE_MB", 100);
  const size = mb * 1e6;
  const { alice, aliceSync, rooms, world } = ctx;
  const pid = ctx.botChild.pid;
  const src = path.join(world.dir, "big.bin");
  await writeRandomFile(src, size);
  log(`files: ${mb} MB each way`);

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
  const inAnswered = aliceSync.waitFor((e) => e.roomId === rooms.files && e.event.sender === ctx.bot.userId && /big-in\.bin/.test(JSON.stringify(e.event.content)), 300_000);
  await alice.send(rooms.files, { msgtype: "m.file", body: "big-in.bin", url: mxc, info: { size, mimetype: "application/octet-stream" } });
  await inAnswered;
  const inPeak = Math.max(memory(pid).hwmMb, sampler.stop());
  let trace = await fetchTrace(ctx.botChild);
  const ev = entries(trace, "event").find((e) => e.body === "big-in.bin");
  const out = entries(trace, "out").at(-1);
  const inMs = ev && out ? out.t - ev.sync : Number.NaN;
  const inbox = path.join(world.workspace, "inbox");
  const written = readdirSync(inbox, { recursive: true, withFileTypes: true }).filter((d) => d.isFile() && d.name.endsWith("big-in.bin"));
  const writtenSize = written[0] ? statSync(path.join(written[0].parentPath, written[0].name)).size : -1;

  // Outbound: agent's workspace → bot → user.
  linkSync(src, path.join(world.workspace, "big-out.bin"));
  await ctx.botChild.ask("gc");
  const outBefore = memory(pid).rssMb;
  resetPeak(pid);
  sampler = rssSampler(pid);
  const outAnswered = aliceSync.waitFor((e) => e.roomId === rooms.files && e.event.sender === ctx.bot.userId && e.event.content["msgtype"] === "m.file", 300_000);
  await alice.sendText(rooms.files, "/file big-out.bin");
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
  const prepMs = upStart && fileFrame ? upStart.t - fileFrame.t : Number.NaN;
  const sentSize = (fileEvent.event.content["info"] as { size?: number } | undefined)?.size;
  rmSync(src);

  const inRate = mbps(size, inMs);
  const outRate = mbps(size, outMs);
  const inGrowth = inPeak - inBefore;
  const outGrowth = outPeak - outBefore;
  return [
    { bench: "files", metric: `in: ${mb} MB user → agent inbox (event received → frame sent)`, value: fmt(inRate, "MB/s"), baseline: `plain download ${fmt(plainDown, "MB/s")}`, ratio: fmtRatio(ratio(inRate, plainDown)), target: "≥ 0.8×", met: ratio(inRate, plainDown) >= 0.8 },
    { bench: "files", metric: "in: bot peak RSS growth", value: fmt(inGrowth, "MB"), baseline: `RSS before ${fmt(inBefore, "MB")}`, ratio: "", target: "≤ 50 MB", met: inGrowth <= 50 },
    { bench: "files", metric: "in: bytes written to the inbox", value: writtenSize === size ? "exact size" : `${writtenSize} of ${size}`, baseline: "", ratio: "", target: "" },
    { bench: "files", metric: `out: ${mb} MB agent file frame → m.file send issued`, value: fmt(outRate, "MB/s"), baseline: `plain upload ${fmt(plainUp, "MB/s")}`, ratio: fmtRatio(ratio(outRate, plainUp)), target: "≥ 0.8×", met: ratio(outRate, plainUp) >= 0.8 },
    { bench: "files", metric: "  of which the upload request alone / checks + sniffing before it", value: `${fmt(mbps(size, uploadMs), "MB/s")} / ${fmt(prepMs, "ms")}`, baseline: `plain upload ${fmt(plainUp, "MB/s")}`, ratio: fmtRatio(ratio(mbps(size, uploadMs), plainUp)), target: "" },
    { bench: "files", metric: "out: bot peak RSS growth", value: fmt(outGrowth, "MB"), baseline: `RSS before ${fmt(outBefore, "MB")}`, ratio: "", target: "≤ 50 MB", met: outGrowth <= 50 },
    { bench: "files", metric: "out: size in the m.file event", value: sentSize === size ? "exact size" : String(sentSize), baseline: "", ratio: "", target: "" },
  ];
}

