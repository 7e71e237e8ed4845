/**
 * The inbox writer against an agent that races it (same uid, its own
 * workspace): mid-upload it swaps the `.part` temp file, or the whole
 * `inbox/<chat>` folder, for a symlink out of the workspace. Nothing outside
 * may change mode, owner (ctime) or content, and the user's file either lands
 * in the right place or is refused — never elsewhere.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { beforeEach, describe, expect, it } from "vitest";
import { InboxRaceError, removeFromInbox, writeToInbox, type Ownership } from "../../src/files/inbox-writer.js";

const root = mkdtempSync(path.join(tmpdir(), "surfaces-race-"));
const workspace = path.join(root, "agents", "mallory");
const outside = path.join(root, "outside");
const victim = path.join(outside, "victim.conf");
const chatDir = path.join(workspace, "inbox", "c_race");
// The bot's own uid/gid: chown succeeds without root, and still bumps the ctime of what it touches.
const own: Ownership = { fileMode: 0o644, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const target = { workspacePath: workspace, chatId: "c_race", name: "report.pdf", maxBytes: 1 << 20 };

/** A download that stops after its first chunk until the racer has done its move. */
function slowUpload(racer: () => void): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.alloc(4096, 1);
      await new Promise((r) => setImmediate(r));
      racer();
      yield Buffer.alloc(4096, 2);
    })(),
  );
}

const snapshot = () => {
  const st = statSync(victim);
  return { mode: st.mode, uid: st.uid, gid: st.gid, ctime: st.ctimeMs, content: readFileSync(victim, "utf8"), entries: readdirSync(outside).sort() };
};
const partIn = (dir: string): string => {
  const part = readdirSync(dir).find((n) => n.endsWith(".part"));
  if (!part) throw new Error(`no .part in ${dir}`);
  return path.join(dir, part);
};

beforeEach(() => {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(chatDir, { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(victim, "do not touch", { mode: 0o600 });
});

describe("writeToInbox under a racing agent", () => {
  it("an uncontested slow upload lands in inbox/<chat> (the racer below is what differs)", async () => {
    const out = await writeToInbox(slowUpload(() => undefined), target, own, () => 5);
    expect(out.relative).toBe("inbox/c_race/5-report.pdf");
    expect(statSync(out.absolute).size).toBe(8192);
  });

  it("the .part swapped for a symlink: nothing outside is re-moded, chowned or written, and the upload is refused", async () => {
    const before = snapshot();
    const upload = slowUpload(() => {
      const part = partIn(chatDir);
      unlinkSync(part);
      symlinkSync(victim, part);
    });
    await expect(writeToInbox(upload, target, own, () => 6)).rejects.toBeInstanceOf(InboxRaceError);
    expect(snapshot()).toEqual(before);
    // No final name was left behind (not even one pointing out), and the swapped temp name is gone.
    expect(readdirSync(chatDir)).toEqual([]);
  });

  it("the inbox folder moved out and replaced by a symlink to it: the user's file does not stay there", async () => {
    const stolen = path.join(outside, "stolen");
    const before = snapshot();
    const upload = slowUpload(() => {
      renameSync(chatDir, stolen);
      symlinkSync(stolen, chatDir);
    });
    await expect(writeToInbox(upload, target, own, () => 7)).rejects.toBeInstanceOf(InboxRaceError);
    expect(readdirSync(stolen)).toEqual([]); // neither the file nor its temp name
    const after = snapshot();
    expect({ ...after, entries: after.entries.filter((e) => e !== "stolen") }).toEqual(before);
  });

  it("the inbox folder swapped for a symlink out (the real one set aside inside): nothing is written outside", async () => {
    const aside = path.join(workspace, "inbox", "aside");
    const before = snapshot();
    const upload = slowUpload(() => {
      renameSync(chatDir, aside);
      symlinkSync(outside, chatDir);
    });
    await expect(writeToInbox(upload, target, own, () => 8)).rejects.toBeInstanceOf(InboxRaceError);
    expect(snapshot()).toEqual(before);
    expect(readdirSync(aside)).toEqual([]);
  });

  it("removeFromInbox does not follow a folder swapped for a symlink", async () => {
    const out = await writeToInbox(Readable.from([Buffer.from("x")]), target, own, () => 9);
    writeFileSync(path.join(outside, path.basename(out.absolute)), "not the bot's");
    renameSync(chatDir, path.join(workspace, "inbox", "aside"));
    symlinkSync(outside, chatDir);
    await removeFromInbox(workspace, out.absolute);
    expect(readFileSync(path.join(outside, path.basename(out.absolute)), "utf8")).toBe("not the bot's");
  });
});
