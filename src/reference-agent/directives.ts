/**
 * The scripted agent's directives: a pure parser plus the fixed texts, so
 * tests can compute exactly what a directive answers. docs/agent-protocol.md
 * lists every output.
 */
export type BadKind = "json" | "type" | "fields" | "unknown-request" | "double-end" | "after-end" | "huge";
export const BAD_KINDS: readonly BadKind[] = ["json", "type", "fields", "unknown-request", "double-end", "after-end", "huge"];

export type Directive =
  | { kind: "echo" }
  | { kind: "slow"; count: number; delayMs: number }
  | { kind: "chunks"; count: number }
  | { kind: "file"; path: string; caption?: string }
  | { kind: "error" }
  | { kind: "tool"; query: string }
  | { kind: "tools"; count: number }
  | { kind: "prose"; delayMs: number }
  | { kind: "slowtool"; holdMs: number }
  | { kind: "progress" }
  | { kind: "table" }
  | { kind: "code" }
  | { kind: "notify"; delayMs: number; text: string }
  | { kind: "confirm"; prompt: string }
  | { kind: "hang" }
  | { kind: "die" }
  | { kind: "markdown" }
  | { kind: "long"; length: number }
  | { kind: "bad"; bad: BadKind }
  // Runaway agents, for the surface's limits: these ignore `cancel`.
  | { kind: "flood"; length: number; chunk: number }
  | { kind: "stubborn"; count: number; delayMs: number }
  | { kind: "files"; count: number; path: string }
  | { kind: "confirms"; count: number };

export const DEFAULT_SLOW_COUNT = 5;
export const DEFAULT_SLOW_DELAY_MS = 20;
export const DEFAULT_NOTIFY_DELAY_MS = 200;
export const DEFAULT_NOTIFY_TEXT = "background task finished";
export const DEFAULT_CONFIRM_PROMPT = "Proceed?";
export const DEFAULT_TOOL_QUERY = "surfaces";
export const DEFAULT_SLOWTOOL_MS = 1000;
/** `/slowtool` reports progress this often while it holds its tool call. */
export const SLOWTOOL_STEP_MS = 500;
export const DEFAULT_LONG_LENGTH = 5000;
export const DEFAULT_TOOLS_COUNT = 3;
export const DEFAULT_PROSE_DELAY_MS = 100;
const MAX_TOOLS = 1000;

/** What `/prose` streams, one piece at a time: a first sentence split across pieces. */
export const PROSE_PIECES = ["The build", " passed. ", "All 12 tests", " are green."] as const;

/** `/tools N`: tool i is `tool_i`; odd ones succeed with `result i`, even ones fail with `error i`. */
export const toolOutcome = (i: number): { name: string; ok: boolean; summary: string } =>
  i % 2 === 1 ? { name: `tool_${i}`, ok: true, summary: `result ${i}` } : { name: `tool_${i}`, ok: false, summary: `error ${i}` };
const MAX_COUNT = 100_000;
const MAX_DELAY_MS = 60_000;
const MAX_LONG = 10_000_000;
export const DEFAULT_FLOOD_CHUNK = 16_000;
export const DEFAULT_STUBBORN_COUNT = 100_000;
export const DEFAULT_STUBBORN_DELAY_MS = 100;
export const DEFAULT_FILES_PATH = "missing.txt";
const MAX_FLOOD = 1024 * 1024 * 1024;
const MAX_FLOOD_CHUNK = 500_000;

export const MARKDOWN_SAMPLE = [
  "# Heading",
  "",
  "Some **bold** text and `inline code`.",
  "",
  "- item one",
  "- item two",
  "",
  "[a link](https://example.org)",
].join("\n");

export const TABLE_SAMPLE = { kind: "table", headers: ["name", "value"], rows: [["alpha", "1"], ["beta", "2"]] } as const;
export const CODE_SAMPLE = { kind: "code", language: "ts", code: "const answer: number = 42;\nconsole.log(answer);" } as const;

/** `chunk 1 chunk 2 … chunk N ` (note the trailing space): what /slow N and /chunks N stream. */
export const chunkText = (count: number): string =>
  Array.from({ length: count }, (_, i) => `chunk ${i + 1} `).join("");

/** 50 characters, ending in a newline, so long answers have natural split points. */
export const LONG_UNIT = "The quick brown fox jumps over the lazy dog. 1234\n";
/** Exactly what /long N answers: the first N characters of LONG_UNIT repeated. */
export const longText = (length: number): string =>
  LONG_UNIT.repeat(Math.ceil(length / LONG_UNIT.length)).slice(0, length);

/** Exactly what the default reply streams (deltas joined). */
export function echoText(text: string, attachments: ReadonlyArray<{ path: string; name: string; mime: string; size: number }>): string {
  return `echo: ${text}${attachments.map((a) => `\n${attachmentLine(a)}`).join("")}`;
}

export const attachmentLine = (a: { path: string; name: string; mime: string; size: number }): string =>
  `attachment: ${a.name} (${a.mime}, ${a.size} bytes) at ${a.path}`;

const int = (s: string | undefined, fallback: number, max: number): number | undefined => {
  if (s === undefined) return fallback;
  if (!/^\d+$/.test(s)) return undefined;
  return Math.min(Number(s), max);
};

/** Reads the directive at the start of the text; anything unrecognised is a plain echo. */
export function parseDirective(text: string): Directive {
  const match = /^\s*\/([a-z]+)(?:\s+([\s\S]*))?$/.exec(text);
  if (!match) return { kind: "echo" };
  const name = match[1];
  const rest = (match[2] ?? "").trim();
  const args = rest === "" ? [] : rest.split(/\s+/);
  const afterFirst = rest.slice(args[0]?.length ?? 0).trim();
  switch (name) {
    case "slow": {
      const count = int(args[0], DEFAULT_SLOW_COUNT, MAX_COUNT);
      const delayMs = int(args[1], DEFAULT_SLOW_DELAY_MS, MAX_DELAY_MS);
      return count === undefined || delayMs === undefined ? { kind: "echo" } : { kind: "slow", count, delayMs };
    }
    case "chunks": {
      const count = int(args[0], DEFAULT_SLOW_COUNT, MAX_COUNT);
      return count === undefined ? { kind: "echo" } : { kind: "chunks", count };
    }
    case "file": {
      const path = args[0];
      if (path === undefined) return { kind: "echo" };
      return afterFirst === "" ? { kind: "file", path } : { kind: "file", path, caption: afterFirst };
    }
    case "notify": {
      const first = args[0];
      if (first !== undefined && /^\d+$/.test(first)) {
        return { kind: "notify", delayMs: Math.min(Number(first), MAX_DELAY_MS), text: afterFirst || DEFAULT_NOTIFY_TEXT };
      }
      return { kind: "notify", delayMs: DEFAULT_NOTIFY_DELAY_MS, text: rest || DEFAULT_NOTIFY_TEXT };
    }
    case "long": {
      const length = int(args[0], DEFAULT_LONG_LENGTH, MAX_LONG);
      return length === undefined ? { kind: "echo" } : { kind: "long", length };
    }
    case "flood": {
      const length = int(args[0], DEFAULT_LONG_LENGTH, MAX_FLOOD);
      const chunk = int(args[1], DEFAULT_FLOOD_CHUNK, MAX_FLOOD_CHUNK);
      return length === undefined || chunk === undefined || chunk === 0 ? { kind: "echo" } : { kind: "flood", length, chunk };
    }
    case "stubborn": {
      const count = int(args[0], DEFAULT_STUBBORN_COUNT, MAX_COUNT);
      const delayMs = int(args[1], DEFAULT_STUBBORN_DELAY_MS, MAX_DELAY_MS);
      return count === undefined || delayMs === undefined ? { kind: "echo" } : { kind: "stubborn", count, delayMs };
    }
    case "files": {
      const count = int(args[0], 1, MAX_COUNT);
      return count === undefined ? { kind: "echo" } : { kind: "files", count, path: args[1] ?? DEFAULT_FILES_PATH };
    }
    case "confirms": {
      const count = int(args[0], 1, MAX_COUNT);
      return count === undefined ? { kind: "echo" } : { kind: "confirms", count };
    }
    case "bad": {
      const bad = BAD_KINDS.find((k) => k === args[0]);
      return bad === undefined ? { kind: "echo" } : { kind: "bad", bad };
    }
    case "confirm":
      return { kind: "confirm", prompt: rest || DEFAULT_CONFIRM_PROMPT };
    case "tool":
      return { kind: "tool", query: rest || DEFAULT_TOOL_QUERY };
    case "tools": {
      const count = int(args[0], DEFAULT_TOOLS_COUNT, MAX_TOOLS);
      return count === undefined ? { kind: "echo" } : { kind: "tools", count };
    }
    case "prose": {
      const delayMs = int(args[0], DEFAULT_PROSE_DELAY_MS, MAX_DELAY_MS);
      return delayMs === undefined ? { kind: "echo" } : { kind: "prose", delayMs };
    }
    case "slowtool": {
      const holdMs = int(args[0], DEFAULT_SLOWTOOL_MS, MAX_DELAY_MS);
      return holdMs === undefined ? { kind: "echo" } : { kind: "slowtool", holdMs };
    }
    case "error":
    case "progress":
    case "table":
    case "code":
    case "hang":
    case "die":
    case "markdown":
      return { kind: name };
    default:
      return { kind: "echo" };
  }
}
