/**
 * The filesystem half of the file rules on a real temp directory: symlinks
 * out, FIFOs (an open would hang, proving nothing outside is opened), the
 * inbox writer's no-overwrite and no-leftover guarantees.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { FileTooLargeError, InboxOutsideWorkspaceError, writeToInbox } from "../../src/files/inbox-writer.js";
import { readHead, sniff } from "../../src/files/sniff.js";
import { openWorkspaceFile } from "../../src/files/workspace-file.js";

const root = mkdtempSync(path.join(tmpdir(), "surfaces-files-"));
const agentsRoot = path.join(root, "agents");
const alice = path.join(agentsRoot, "alice");
const bob = path.join(agentsRoot, "bob");
const scope = { workspacePath: alice, agentsRoot };
const fifo = (p: string) => execFileSync("mkfifo", [p]);

beforeAll(() => {
  mkdirSync(path.join(alice, "sub"), { recursive: true });
  mkdirSync(bob, { recursive: true });
  writeFileSync(path.join(alice, "hello.txt"), "hello");
  writeFileSync(path.join(alice, "empty.txt"), "");
  writeFileSync(path.join(alice, "big.bin"), Buffer.alloc(2048));
  // Every file outside alice's workspace is a FIFO: opening one for reading would block the test.
  fifo(path.join(bob, "secret"));
  fifo(path.join(root, "outside"));
  fifo(path.join(alice, "pipe"));
  symlinkSync(path.join(root, "outside"), path.join(alice, "link-out"));
  symlinkSync(bob, path.join(alice, "bob-dir"));
  symlinkSync("hello.txt", path.join(alice, "link-in"));
});

describe("openWorkspaceFile", () => {
  it.each(["hello.txt", "/workspace/hello.txt", "/agents/alice/hello.txt", "sub/../hello.txt", "link-in"])("opens %s", async (raw) => {
    const r = await openWorkspaceFile(raw, scope, 1000);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.file.size).toBe(5);
    expect(r.file.realPath).toBe(path.join(alice, "hello.txt"));
    await r.file.handle.close();
  });

  it.each([
    ["../bob/secret", "outside"],
    ["..%2fbob%2fsecret", "missing"],
    ["/agents/bob/secret", "outside"],
    [path.join(bob, "secret"), "outside"],
    [path.join(root, "outside"), "outside"],
    ["/etc/passwd", "outside"],
    ["link-out", "outside"],
    ["bob-dir/secret", "outside"],
    ["x/".repeat(700), "too_long"],
    ["nope.txt", "missing"],
    ["hello.txt/x", "missing"],
    ["sub", "directory"],
    ["/workspace", "directory"],
    ["empty.txt", "empty"],
    ["pipe", "not_file"],
    ["big.bin", "too_large"],
  ])("refuses %s (%s)", async (raw, reason) => {
    expect(await openWorkspaceFile(raw, scope, 1000)).toEqual({ ok: false, reason });
  });
});

describe("writeToInbox", () => {
  const own = { fileMode: 0o640 };
  const target = (name: string, maxBytes = 1 << 20) => ({ workspacePath: alice, chatId: "c_test", name, maxBytes });

  it("writes to inbox/<chat>/<ts>-<safe-name> with the configured mode and exact bytes", async () => {
    const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    const out = await writeToInbox(Readable.from([data.subarray(0, 40_000), data.subarray(40_000)]), target("../日本 report.pdf"), own, () => 1234);
    expect(out.relative).toBe("inbox/c_test/1234-_日本 report.pdf");
    expect(out.size).toBe(data.length);
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    expect(sha(readFileSync(out.absolute))).toBe(sha(data));
    expect(statSync(out.absolute).mode & 0o777).toBe(0o640);
    expect(statSync(path.dirname(out.absolute)).mode & 0o777).toBe(0o750);
  });

  it("never overwrites a file of the same name", async () => {
    const a = await writeToInbox(Readable.from([Buffer.from("one")]), target("same.txt"), own, () => 42);
    const b = await writeToInbox(Readable.from([Buffer.from("two")]), target("same.txt"), own, () => 42);
    expect(a.relative).toBe("inbox/c_test/42-same.txt");
    expect(b.relative).toBe("inbox/c_test/42-same-2.txt");
    expect(readFileSync(a.absolute, "utf8")).toBe("one");
    expect(readFileSync(b.absolute, "utf8")).toBe("two");
  });

  it("refuses a file over the limit and leaves nothing behind", async () => {
    const before = readdirSync(path.join(alice, "inbox", "c_test")).sort();
    const chunks = Array.from({ length: 10 }, () => Buffer.alloc(1000, 1));
    await expect(writeToInbox(Readable.from(chunks), target("huge.bin", 5000), own, () => 7)).rejects.toBeInstanceOf(FileTooLargeError);
    expect(readdirSync(path.join(alice, "inbox", "c_test")).sort()).toEqual(before);
  });

  it("leaves nothing behind when the source fails midway", async () => {
    const before = readdirSync(path.join(alice, "inbox", "c_test")).sort();
    async function* broken() {
      yield Buffer.alloc(1000);
      throw new Error("connection reset");
    }
    await expect(writeToInbox(Readable.from(broken()), target("broken.bin"), own, () => 8)).rejects.toThrow("connection reset");
    expect(readdirSync(path.join(alice, "inbox", "c_test")).sort()).toEqual(before);
  });

  it("refuses an inbox the agent turned into a symlink out of its workspace", async () => {
    const evil = path.join(agentsRoot, "mallory");
    mkdirSync(evil, { recursive: true });
    symlinkSync(bob, path.join(evil, "inbox"));
    await expect(
      writeToInbox(Readable.from([Buffer.from("x")]), { workspacePath: evil, chatId: "c1", name: "a", maxBytes: 10 }, own),
    ).rejects.toBeInstanceOf(InboxOutsideWorkspaceError);
    expect(readdirSync(bob)).toEqual(["secret"]);
  });

  it("refuses a chat id that is not one plain path component", async () => {
    await expect(writeToInbox(Readable.from([]), { ...target("a"), chatId: ".." }, own)).rejects.toThrow(/unsafe chat id/);
  });
});

describe("sniff", () => {
  const png = Buffer.from(
    "89504e470d0a1a0a0000000d4948445200000003000000020806000000" + "00".repeat(40),
    "hex",
  );
  it.each([
    [png, "x.bin", undefined, { mime: "image/png", kind: "image", width: 3, height: 2 }],
    [Buffer.from("plain text"), "notes.md", undefined, { mime: "text/markdown", kind: "file" }],
    [Buffer.from("plain text"), "notes.md", "text/x-custom", { mime: "text/x-custom", kind: "file" }],
    [Buffer.from("ID3\u0003\u0000\u0000\u0000\u0000\u0000\u0000"), "a.mp3", undefined, { mime: "audio/mpeg", kind: "audio" }],
    [Buffer.from([1, 2, 3]), "blob", undefined, { mime: "application/octet-stream", kind: "file" }],
    [Buffer.from([1, 2, 3]), "fake.png", undefined, { mime: "image/png", kind: "file" }], // no dimensions → plain file
  ])("%#", async (head, name, hint, expected) => {
    expect(await sniff(head, name, hint)).toEqual(expected);
  });

  it("reads an audio duration from the header (a 1.5 s WAV), and none from a header without one", async () => {
    const wav = wavFile(8000, 1.5);
    const file = path.join(alice, "tone.wav");
    writeFileSync(file, wav);
    expect(await sniff(wav.subarray(0, 4096), "tone.wav", undefined, file)).toMatchObject({ kind: "audio", durationMs: 1500 });
    const mp3 = path.join(alice, "bare.mp3");
    writeFileSync(mp3, Buffer.from("ID3\u0003\u0000\u0000\u0000\u0000\u0000\u0000"));
    expect((await sniff(readFileSync(mp3), "bare.mp3", undefined, mp3)).durationMs).toBeUndefined();
  });

  it("reads only the head of a file", async () => {
    const r = await openWorkspaceFile("hello.txt", scope, 1000);
    if (!r.ok) throw new Error("not opened");
    expect(Buffer.from(await readHead(r.file.handle, r.file.size)).toString()).toBe("hello");
    await r.file.handle.close();
  });
});

/** A mono 8-bit PCM WAV of `seconds` at `rate` Hz: the header states the data length, hence the duration. */
function wavFile(rate: number, seconds: number): Buffer {
  const dataLen = Math.round(rate * seconds);
  const buf = Buffer.alloc(44 + dataLen, 0x80);
  buf.write("RIFF", 0);
  buf.writeUInt32LE(36 + dataLen, 4);
  buf.write("WAVE", 8);
  buf.write("fmt ", 12);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate, 28); // byte rate
  buf.writeUInt16LE(1, 32); // block align
  buf.writeUInt16LE(8, 34); // bits
  buf.write("data", 36);
  buf.writeUInt32LE(dataLen, 40);
  return buf;
}
