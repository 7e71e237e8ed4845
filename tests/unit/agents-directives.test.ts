import { describe, expect, it } from "vitest";
import {
  chunkText,
  echoText,
  LONG_UNIT,
  longText,
  parseDirective,
} from "../../src/reference-agent/directives.js";
import { parseReferenceAgentArgs } from "../../src/reference-agent/cli.js";

describe("parseDirective", () => {
  it.each([
    ["hello", { kind: "echo" }],
    ["/unknown thing", { kind: "echo" }],
    ["say /slow 3", { kind: "echo" }],
    ["/slow", { kind: "slow", count: 5, delayMs: 20 }],
    ["/slow 3", { kind: "slow", count: 3, delayMs: 20 }],
    ["  /slow 3 100", { kind: "slow", count: 3, delayMs: 100 }],
    ["/slow many", { kind: "echo" }],
    ["/chunks 500", { kind: "chunks", count: 500 }],
    ["/file out/report.pdf", { kind: "file", path: "out/report.pdf" }],
    ["/file ../../etc/passwd the secrets", { kind: "file", path: "../../etc/passwd", caption: "the secrets" }],
    ["/file", { kind: "echo" }],
    ["/error", { kind: "error" }],
    ["/tool", { kind: "tool", query: "surfaces" }],
    ["/tool cats and dogs", { kind: "tool", query: "cats and dogs" }],
    ["/tools", { kind: "tools", count: 3 }],
    ["/tools 7", { kind: "tools", count: 7 }],
    ["/tools x", { kind: "echo" }],
    ["/prose", { kind: "prose", delayMs: 100 }],
    ["/prose 20", { kind: "prose", delayMs: 20 }],
    ["/slowtool", { kind: "slowtool", holdMs: 1000 }],
    ["/slowtool 3000", { kind: "slowtool", holdMs: 3000 }],
    ["/slowtool soon", { kind: "echo" }],
    ["/progress", { kind: "progress" }],
    ["/table", { kind: "table" }],
    ["/code", { kind: "code" }],
    ["/notify", { kind: "notify", delayMs: 200, text: "background task finished" }],
    ["/notify 50", { kind: "notify", delayMs: 50, text: "background task finished" }],
    ["/notify 50 build done", { kind: "notify", delayMs: 50, text: "build done" }],
    ["/notify build done", { kind: "notify", delayMs: 200, text: "build done" }],
    ["/confirm", { kind: "confirm", prompt: "Proceed?" }],
    ["/confirm Delete 3 files?", { kind: "confirm", prompt: "Delete 3 files?" }],
    ["/hang", { kind: "hang" }],
    ["/die", { kind: "die" }],
    ["/markdown", { kind: "markdown" }],
    ["/long 2500", { kind: "long", length: 2500 }],
    ["/bad huge", { kind: "bad", bad: "huge" }],
    ["/bad double-end", { kind: "bad", bad: "double-end" }],
    ["/bad nonsense", { kind: "echo" }],
    ["/flood 1000", { kind: "flood", length: 1000, chunk: 16_000 }],
    ["/flood 268435456 64000", { kind: "flood", length: 268_435_456, chunk: 64_000 }],
    ["/flood 10 0", { kind: "echo" }],
    ["/stubborn", { kind: "stubborn", count: 100_000, delayMs: 100 }],
    ["/stubborn 5 10", { kind: "stubborn", count: 5, delayMs: 10 }],
    ["/files 30", { kind: "files", count: 30, path: "missing.txt" }],
    ["/files 3 out/a.txt", { kind: "files", count: 3, path: "out/a.txt" }],
    ["/confirms 9", { kind: "confirms", count: 9 }],
  ])("%j → %j", (text, directive) => {
    expect(parseDirective(text)).toEqual(directive);
  });
});

describe("exact outputs", () => {
  it("chunkText joins `chunk k ` pieces", () => {
    expect(chunkText(3)).toBe("chunk 1 chunk 2 chunk 3 ");
    expect(chunkText(0)).toBe("");
  });

  it("longText has exactly N characters of the repeated unit", () => {
    expect(LONG_UNIT).toHaveLength(50);
    expect(longText(120)).toBe(LONG_UNIT + LONG_UNIT + LONG_UNIT.slice(0, 20));
    expect(longText(12_345)).toHaveLength(12_345);
  });

  it("echoText lists attachments one per line", () => {
    expect(echoText("hi", [])).toBe("echo: hi");
    expect(echoText("see", [{ path: "inbox/1/2-a.png", name: "a.png", mime: "image/png", size: 3 }])).toBe(
      "echo: see\nattachment: a.png (image/png, 3 bytes) at inbox/1/2-a.png",
    );
  });
});

describe("parseReferenceAgentArgs", () => {
  it("has defaults for everything", () => {
    expect(parseReferenceAgentArgs([], {})).toEqual({ port: 8080, host: "127.0.0.1", workspace: "/workspace", mode: "scripted" });
  });

  it("reads the environment, flags win", () => {
    const env = { AGENT_PORT: "9000", AGENT_HOST: "0.0.0.0", AGENT_WORKSPACE: "/w", AGENT_MODE: "scripted", AGENT_TOKEN: "s3cret" };
    expect(parseReferenceAgentArgs([], env)).toEqual({ port: 9000, host: "0.0.0.0", workspace: "/w", mode: "scripted", token: "s3cret" });
    expect(parseReferenceAgentArgs(["--port", "0", "--workspace=/x", "--host", "::1"], env)).toMatchObject({
      port: 0,
      workspace: "/x",
      host: "::1",
    });
  });

  it("refuses bad input with a message naming the flag", () => {
    expect(() => parseReferenceAgentArgs(["--port", "abc"], {})).toThrow(/AGENT_PORT/);
    expect(() => parseReferenceAgentArgs(["--mode", "magic"], {})).toThrow(/AGENT_MODE/);
    expect(() => parseReferenceAgentArgs(["--token", "x"], {})).toThrow(/unknown argument/);
    expect(() => parseReferenceAgentArgs(["--port"], {})).toThrow(/needs a value/);
  });
});
