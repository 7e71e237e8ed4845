import { describe, expect, it } from "vitest";
import { capBytes, dirModeFor, inboxFileName, isSafeComponent, MAX_NAME_BYTES, safeName } from "../../src/files/names.js";
import { isInside, mapAgentPath } from "../../src/files/paths.js";

const scope = { workspacePath: "/srv/agents/alice", agentsRoot: "/srv/agents" };

describe("mapAgentPath", () => {
  it.each([
    ["out.txt", "/srv/agents/alice/out.txt"],
    ["./reports/q1.pdf", "/srv/agents/alice/reports/q1.pdf"],
    ["reports/../out.txt", "/srv/agents/alice/out.txt"],
    ["/workspace/out.txt", "/srv/agents/alice/out.txt"],
    ["/workspace/a/b.png", "/srv/agents/alice/a/b.png"],
    ["/agents/alice/out.txt", "/srv/agents/alice/out.txt"],
    ["/srv/agents/alice/out.txt", "/srv/agents/alice/out.txt"],
    ["..%2fbob%2fsecret", "/srv/agents/alice/..%2fbob%2fsecret"], // percent-encoding is never decoded
    ["..\\bob\\secret", "/srv/agents/alice/..\\bob\\secret"], // a backslash is a name character on POSIX
  ])("%s → %s", (raw, absolute) => {
    expect(mapAgentPath(raw, scope)).toEqual({ ok: true, absolute, relative: absolute.slice("/srv/agents/alice/".length) });
  });

  it.each([
    ["../bob/secret", "outside"],
    ["../../etc/passwd", "outside"],
    ["a/../../x", "outside"],
    ["/etc/passwd", "outside"],
    ["/workspace/../bob/x", "outside"],
    ["/workspace/../../etc/passwd", "outside"],
    ["/agents/bob/secret", "outside"],
    ["/agents/alice2/x", "outside"], // a sibling whose name starts the same
    ["/agents/alice/../bob/x", "outside"],
    ["/srv/agents/bob/x", "outside"],
    ["/workspacex/a", "outside"],
    ["", "invalid"],
    ["a\0b", "invalid"],
    ["a/".repeat(600), "too_long"],
    [`${"x".repeat(256)}.txt`, "too_long"],
  ])("%j is refused (%s)", (raw, reason) => {
    expect(mapAgentPath(raw, scope)).toEqual({ ok: false, reason });
  });
});

describe("isInside", () => {
  it.each([
    ["/a/b", "/a/b", true],
    ["/a/b", "/a/b/c", true],
    ["/a/b", "/a/bc", false],
    ["/a/b", "/a", false],
    ["/a/b/", "/a/b/c", true],
  ])("%s contains %s: %s", (parent, child, expected) => {
    expect(isInside(parent, child)).toBe(expected);
  });
});

describe("safeName", () => {
  it.each([
    ["report.pdf", "report.pdf"],
    ["résumé 2024.pdf", "résumé 2024.pdf"],
    ["日本語のファイル.txt", "日本語のファイル.txt"],
    ["emoji 🎉.png", "emoji 🎉.png"],
    ["../../etc/passwd", "_._etc_passwd"],
    ["..", "file"],
    [".hidden", "hidden"],
    ["a/b\\c", "a_b_c"],
    ["report..final.pdf", "report.final.pdf"],
    ["bad\u0000\u0007\nname.txt", "badname.txt"],
    ["evil\u202Egpj.exe", "evilgpj.exe"],
    ["   ", "file"],
    ["", "file"],
    ["e\u0301.txt", "é.txt"], // NFC
  ])("%j → %j", (input, expected) => {
    expect(safeName(input)).toBe(expected);
  });

  it("never yields separators, `..`, controls, or more than the byte cap", () => {
    const nasty = ["/", "\\", "..", "\u0000", "\u001f", "\u007f", "é", "🎉", ".", " "];
    for (let i = 0; i < 500; i++) {
      const input = Array.from({ length: (i % 90) + 1 }, (_, j) => nasty[(i * 7 + j * 3) % nasty.length]).join("");
      const out = safeName(input);
      expect(out).not.toMatch(/[/\\\p{Cc}]/u);
      expect(out).not.toContain("..");
      expect(out.startsWith(".")).toBe(false);
      expect(Buffer.byteLength(out)).toBeLessThanOrEqual(MAX_NAME_BYTES);
      expect(out.length).toBeGreaterThan(0);
    }
  });

  it("caps long names by bytes, keeping the extension and whole characters", () => {
    const out = safeName(`${"ä".repeat(300)}.pdf`);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(out.endsWith(".pdf")).toBe(true);
    expect(out).toMatch(/^ä+\.pdf$/);
    expect(capBytes("short.txt", 100)).toBe("short.txt");
  });
});

describe("inbox names and modes", () => {
  it.each([
    [1, "1700000000000-a.png"],
    [2, "1700000000000-a-2.png"],
    [3, "1700000000000-a-3.png"],
  ])("attempt %i → %s", (attempt, expected) => {
    expect(inboxFileName(1_700_000_000_000, "a.png", attempt)).toBe(expected);
  });
  it("suffixes names without an extension at the end", () => {
    expect(inboxFileName(5, "README", 2)).toBe("5-README-2");
  });
  it.each([
    ["c_1a2b", true],
    ["chat-17", true],
    ["..", false],
    [".x", false],
    ["a/b", false],
    ["", false],
  ])("chat id %j safe: %s", (id, ok) => expect(isSafeComponent(id)).toBe(ok));
  it.each([
    [0o644, 0o755],
    [0o640, 0o750],
    [0o600, 0o700],
    [0o660, 0o770],
  ])("file mode %o → dir mode %o", (file, dir) => expect(dirModeFor(file)).toBe(dir));
});
