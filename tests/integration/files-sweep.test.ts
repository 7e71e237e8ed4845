import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { sweepPartials } from "../../src/files/sweep.js";

describe("sweepPartials", () => {
  it("removes stale download temp files only: not fresh ones, not user files, not through symlinks", async () => {
    const ws = mkdtempSync(path.join(tmpdir(), "surfaces-sweep-"));
    const outside = mkdtempSync(path.join(tmpdir(), "surfaces-sweep-out-"));
    const chat = path.join(ws, "inbox", "17");
    mkdirSync(chat, { recursive: true });
    const now = 10_000_000;
    const stale = `.${now - 3_600_000}-${randomUUID()}.part`;
    const fresh = `.${now - 1000}-${randomUUID()}.part`;
    for (const f of [stale, fresh, "1700-report.part", "1700-notes.txt"]) writeFileSync(path.join(chat, f), "x");
    const foreign = `.${now - 3_600_000}-${randomUUID()}.part`;
    writeFileSync(path.join(outside, foreign), "x");
    symlinkSync(outside, path.join(ws, "inbox", "link"));

    expect(await sweepPartials(ws, 600_000, now)).toEqual([path.join("inbox", "17", stale)]);
    expect(existsSync(path.join(chat, fresh))).toBe(true);
    expect(existsSync(path.join(chat, "1700-report.part"))).toBe(true);
    expect(existsSync(path.join(outside, foreign))).toBe(true);
  });

  it("is fine with a workspace that has no inbox yet", async () => {
    expect(await sweepPartials(mkdtempSync(path.join(tmpdir(), "surfaces-sweep-")), 0)).toEqual([]);
  });
});
