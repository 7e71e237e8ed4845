/**
 * The tools the `llm` mode offers the model: list, read and send files of
 * the agent's workspace. Paths are confined to the workspace (symlinks
 * included); sending only emits a `file` frame, so the bot applies its own
 * path rules as well.
 */
import { readdir, realpath, stat, open } from "node:fs/promises";
import path from "node:path";
import type { ToolSpec } from "./llm-stream.js";
import type { TurnOutput } from "./responder.js";

export const READ_LIMIT_BYTES = 64 * 1024;
const LIST_LIMIT = 200;

export const TOOL_SPECS: ToolSpec[] = [
  {
    type: "function",
    function: {
      name: "list_files",
      description: "List the files in a directory of the workspace (default: the workspace root).",
      parameters: { type: "object", properties: { path: { type: "string", description: "Directory, relative to the workspace" } } },
    },
  },
  {
    type: "function",
    function: {
      name: "read_file",
      description: `Read a UTF-8 text file of the workspace (at most ${READ_LIMIT_BYTES} bytes).`,
      parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
    },
  },
  {
    type: "function",
    function: {
      name: "send_file",
      description: "Send a workspace file to the user in the chat.",
      parameters: {
        type: "object",
        properties: { path: { type: "string" }, caption: { type: "string" } },
        required: ["path"],
      },
    },
  },
];

export interface ToolOutcome {
  ok: boolean;
  /** What the model sees. */
  content: string;
  /** What the user sees in the status line. */
  summary: string;
}

/** Runs one tool call; never throws (failures become `ok: false` outcomes the model can read). */
export async function runTool(
  workspace: string,
  name: string,
  rawArgs: string,
  send: (frame: TurnOutput) => void,
): Promise<ToolOutcome> {
  try {
    const args = parseArgs(rawArgs);
    switch (name) {
      case "list_files": {
        const dir = await confine(workspace, args.path ?? ".");
        const entries = await readdir(dir, { withFileTypes: true });
        const lines = entries
          .sort((a, b) => a.name.localeCompare(b.name))
          .slice(0, LIST_LIMIT)
          .map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
        const more = entries.length > LIST_LIMIT ? `\n… and ${entries.length - LIST_LIMIT} more` : "";
        return { ok: true, content: lines.join("\n") + more || "(empty)", summary: `${entries.length} entries` };
      }
      case "read_file": {
        const file = await confine(workspace, required(args.path));
        const handle = await open(file, "r");
        try {
          const buf = Buffer.alloc(READ_LIMIT_BYTES);
          const { bytesRead } = await handle.read(buf, 0, READ_LIMIT_BYTES, 0);
          const size = (await handle.stat()).size;
          const cut = size > bytesRead ? `\n[truncated: ${size} bytes in total]` : "";
          return { ok: true, content: buf.subarray(0, bytesRead).toString("utf8") + cut, summary: `read ${bytesRead} bytes` };
        } finally {
          await handle.close();
        }
      }
      case "send_file": {
        const file = await confine(workspace, required(args.path));
        if (!(await stat(file)).isFile()) throw new Error("not a regular file");
        const rel = path.relative(await realpath(workspace), file);
        send({ type: "file", path: rel, name: path.basename(rel), ...(args.caption && { caption: args.caption }) });
        return { ok: true, content: `sent ${rel} to the user`, summary: `sent ${path.basename(rel)}` };
      }
      default:
        return { ok: false, content: `unknown tool "${name}"`, summary: `unknown tool ${name}` };
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, content: `error: ${message}`, summary: message };
  }
}

/** Resolves `p` (relative, or absolute under the workspace) to a real path inside the workspace, or throws. */
export async function confine(workspace: string, p: string): Promise<string> {
  const root = await realpath(workspace);
  const given = path.resolve(workspace);
  const inside = (q: string, base: string): boolean => q === base || q.startsWith(base + path.sep);
  // An absolute path is accepted when it names the workspace as configured (it may differ from the real path).
  const lexical = path.isAbsolute(p) && inside(path.resolve(p), given) ? path.join(root, path.relative(given, path.resolve(p))) : path.resolve(root, p);
  if (!inside(lexical, root)) throw new Error(`path "${p}" is outside the workspace`);
  const real = await realpath(lexical).catch(() => {
    throw new Error(`no such file: ${p}`);
  });
  if (!inside(real, root)) throw new Error(`path "${p}" is outside the workspace`);
  return real;
}

function parseArgs(raw: string): { path?: string; caption?: string } {
  if (raw.trim() === "") return {};
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== "object" || parsed === null) throw new Error("arguments must be a JSON object");
  const { path: p, caption } = parsed as Record<string, unknown>;
  return {
    ...(typeof p === "string" && { path: p }),
    ...(typeof caption === "string" && { caption }),
  };
}

function required(p: string | undefined): string {
  if (p === undefined || p === "") throw new Error("missing path");
  return p;
}
