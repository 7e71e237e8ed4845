/**
 * The agent registry: which agents exist and which Matrix users may use
 * which of them. Loaded from YAML, validated with zod, exposed as an
 * immutable object. Every problem is reported at once, each naming the file,
 * the path inside it and the reason.
 */
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import type { Document } from "yaml";
import type { AgentId, UserId } from "../core/ids.js";
import { asAgentId, asUserId } from "../core/ids.js";
import { crossCheck, registryFileSchema } from "./registry-schema.js";
import type { RawProblem, RegistryFile } from "./registry-schema.js";

export interface AgentConfig {
  readonly id: AgentId;
  readonly baseUrl: string;
  readonly workspacePath: string;
  /** Secret, read from the env var named by token_env. Never log it. */
  readonly token?: string;
}

export interface Registry {
  /** The file it was loaded from. */
  readonly source: string;
  readonly agents: ReadonlyMap<AgentId, AgentConfig>;
  /** Each allowed user's agents; the first is the default. */
  readonly users: ReadonlyMap<UserId, readonly AgentId[]>;
  /** The user's agents, default first; empty for users the registry does not know. */
  agentsFor(user: UserId): AgentId[];
  isAllowed(user: UserId): boolean;
  agent(id: AgentId): AgentConfig | undefined;
}

export interface RegistryProblem {
  /** Dotted path inside the file, e.g. `user_agents."@bob:x".1`; "" for the whole file. */
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly col?: number;
}

export class RegistryError extends Error {
  override readonly name = "RegistryError";
  constructor(
    readonly file: string,
    readonly problems: readonly RegistryProblem[],
  ) {
    super(problems.map((p) => formatProblem(file, p)).join("\n"));
  }
}

function formatProblem(file: string, p: RegistryProblem): string {
  if (p.path === "") {
    const where = p.line !== undefined ? `:${p.line}:${p.col ?? 1}` : "";
    return `${file}${where}: ${p.message}`;
  }
  const at = p.line !== undefined ? ` (line ${p.line})` : "";
  return `${file}: ${p.path}: ${p.message}${at}`;
}

/** `["user_agents", "@bob:x", 1]` → `user_agents."@bob:x".1` */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((seg) =>
      typeof seg === "number" || (typeof seg === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(seg))
        ? String(seg)
        : JSON.stringify(String(seg)),
    )
    .join(".");
}

export function loadRegistry(path: string, env: NodeJS.ProcessEnv = process.env): Registry {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : String(err);
    throw new RegistryError(path, [{ path: "", message: why }]);
  }
  return parseRegistry(text, path, env);
}

export function parseRegistry(text: string, path: string, env: NodeJS.ProcessEnv = process.env): Registry {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RegistryError(
      path,
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        // yaml appends " at line L, column C:" and a code excerpt; we print the position ourselves.
        const why = (e.message.split("\n")[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, "");
        return { path: "", message: `invalid YAML: ${why}`, line, col };
      }),
    );
  }

  const raw: unknown = doc.toJS();
  const result = registryFileSchema.safeParse(raw ?? undefined);
  const rawProblems: RawProblem[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const base = issue.path.map((s) => (typeof s === "symbol" ? String(s) : s));
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) rawProblems.push({ path: [...base, key], message: "unknown key" });
      } else if (issue.code === "invalid_key") {
        rawProblems.push({ path: base, message: issue.issues[0]?.message ?? issue.message });
      } else {
        rawProblems.push({ path: base, message: issue.message });
      }
    }
  }
  rawProblems.push(...crossCheck(raw, env));
  if (rawProblems.length > 0 || !result.success) {
    // In file order, so the report reads top to bottom like the file.
    const located = rawProblems.map((p) => locate(doc, lines, p));
    located.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    throw new RegistryError(path, located);
  }
  return buildRegistry(result.data, path, env);
}

function locate(doc: Document, lines: LineCounter, p: RawProblem): RegistryProblem {
  const formatted = formatPath(p.path) || "(top level)";
  // Walk up until a node exists (a missing key has no node; its parent does).
  for (let n = p.path.length; n > 0; n--) {
    const node = doc.getIn(p.path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) {
      const { line, col } = lines.linePos(node.range[0]);
      return { path: formatted, message: p.message, line, col };
    }
  }
  return { path: formatted, message: p.message };
}

function buildRegistry(file: RegistryFile, source: string, env: NodeJS.ProcessEnv): Registry {
  const agents = new Map<AgentId, AgentConfig>();
  for (const [id, a] of Object.entries(file.agents)) {
    const token = a.token_env !== undefined ? env[a.token_env] : undefined;
    agents.set(
      asAgentId(id),
      Object.freeze({
        id: asAgentId(id),
        baseUrl: a.base_url.replace(/\/+$/, ""),
        workspacePath: a.workspace_path,
        ...(token !== undefined && { token }),
      }),
    );
  }
  const users = new Map<UserId, readonly AgentId[]>();
  for (const [user, list] of Object.entries(file.user_agents)) {
    users.set(asUserId(user), Object.freeze((Array.isArray(list) ? list : [list]).map(asAgentId)));
  }
  return Object.freeze({
    source,
    agents,
    users,
    agentsFor: (user: UserId) => [...(users.get(user) ?? [])],
    isAllowed: (user: UserId) => users.has(user),
    agent: (id: AgentId) => agents.get(id),
  });
}
