/**
 * Would the surface accept a `file` frame's path? With the agent's workspace
 * at hand, the bot's own check (symlinks, existence); without it, the same
 * lexical rule against a stand-in workspace.
 */
import { dirname } from "node:path";
import { mapAgentPath } from "../files/paths.js";
import { openWorkspaceFile } from "../files/workspace-file.js";

/** Why the surface would refuse `raw`, or undefined when it would send the file. */
export async function filePathProblem(raw: string, workspace: string | undefined): Promise<string | undefined> {
  if (workspace !== undefined) {
    // The bot's layout: every workspace is <agents root>/<agent>, so /agents/<agent>/… lands back in it.
    const opened = await openWorkspaceFile(raw, { workspacePath: workspace, agentsRoot: dirname(workspace) }, Number.MAX_SAFE_INTEGER);
    if (!opened.ok) return opened.reason === "outside" ? "resolves outside the workspace" : `refused: ${opened.reason}`;
    await opened.file.handle.close();
    return undefined;
  }
  // /agents/<agent>/rest is the agent's own workspace when <agent> is its directory; judge rest.
  const agentsMatch = /^\/agents\/([^/]+)(\/.*)?$/.exec(raw);
  const own = agentsMatch && agentsMatch[1] !== "." && agentsMatch[1] !== "..";
  const candidate = own ? `/workspace${agentsMatch[2] ?? ""}` : raw;
  const mapped = mapAgentPath(candidate, { workspacePath: "/workspace", agentsRoot: "/agents" });
  return mapped.ok ? undefined : mapped.reason === "outside" ? "resolves outside the workspace" : `refused: ${mapped.reason}`;
}
