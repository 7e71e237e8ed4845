/**
 * Pure path rules for `file` frames: which absolute path an agent-supplied
 * path names, and whether it stays inside the agent's workspace. No I/O here;
 * workspace-file.ts adds the symlink checks against the real filesystem.
 *
 * Percent-encoding is never decoded: `..%2fx` is the literal (odd) file name
 * `..%2fx` inside the workspace, so it cannot climb out.
 */
import path from "node:path";

/** Longest path accepted from an agent (characters); PATH_MAX is 4096 bytes. */
export const MAX_PATH_CHARS = 1024;
export const MAX_SEGMENT_BYTES = 255;

export interface WorkspaceScope {
  /** The agent's workspace on the surface's side (registry `workspace_path`), absolute. */
  workspacePath: string;
  /** Where `/agents/...` paths live on the surface's side (SURFACES_AGENTS_ROOT), absolute. */
  agentsRoot: string;
}

export type PathRefusal = "outside" | "too_long" | "invalid";
export type MappedPath = { ok: true; absolute: string; relative: string } | { ok: false; reason: PathRefusal };

/** True when `child` is `parent` itself or lies below it (both absolute and normalised). */
export function isInside(parent: string, child: string): boolean {
  const p = parent.endsWith(path.sep) ? parent : parent + path.sep;
  return child === parent || child.startsWith(p);
}

/**
 * Maps an agent's path to an absolute path on this side and checks it lexically:
 * relative → under the workspace; `/workspace/...` → the workspace;
 * `/agents/...` (or SURFACES_AGENTS_ROOT/...) → under the agents root; any
 * other absolute path stays as it is. Anything not inside the workspace is refused.
 */
export function mapAgentPath(raw: string, scope: WorkspaceScope): MappedPath {
  if (raw === "" || raw.includes("\0")) return { ok: false, reason: "invalid" };
  if (raw.length > MAX_PATH_CHARS || raw.split("/").some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES)) {
    return { ok: false, reason: "too_long" };
  }
  const workspace = path.resolve(scope.workspacePath);
  const root = path.resolve(scope.agentsRoot);
  let absolute: string;
  if (!path.isAbsolute(raw)) absolute = path.resolve(workspace, raw);
  else if (raw === "/workspace" || raw.startsWith("/workspace/")) absolute = path.resolve(workspace, `.${raw.slice("/workspace".length)}`);
  else if (raw === "/agents" || raw.startsWith("/agents/")) absolute = path.resolve(root, `.${raw.slice("/agents".length)}`);
  else absolute = path.resolve(raw);
  if (!isInside(workspace, absolute)) return { ok: false, reason: "outside" };
  return { ok: true, absolute, relative: path.relative(workspace, absolute) };
}
