import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { filePathProblem } from "../../src/agent-check/paths.js";

describe("agent-check file paths", () => {
  it.each([
    ["report.md", undefined],
    ["out/report.md", undefined],
    ["/workspace/out/report.md", undefined],
    ["/agents/my-agent/out/report.md", undefined],
    ["../outside.md", "resolves outside the workspace"],
    ["/etc/passwd", "resolves outside the workspace"],
    ["/agents/../etc/passwd", "resolves outside the workspace"],
    ["/agents/./x/../../etc/passwd", "resolves outside the workspace"],
    ["/workspace/../etc/passwd", "resolves outside the workspace"],
    ["", "refused: invalid"],
  ])("without a workspace, %j is judged lexically: %s", async (raw, problem) => {
    expect(await filePathProblem(raw, undefined)).toBe(problem);
  });

  it("with a workspace, checks the file on disk as the bot does (missing, symlinked out)", async () => {
    const root = mkdtempSync(join(tmpdir(), "agent-check-paths-"));
    const workspace = join(root, "my-agent");
    mkdirSync(workspace);
    writeFileSync(join(workspace, "report.md"), "# r");
    writeFileSync(join(root, "secret.txt"), "s");
    symlinkSync(join(root, "secret.txt"), join(workspace, "link"));
    expect(await filePathProblem("report.md", workspace)).toBeUndefined();
    expect(await filePathProblem("/agents/my-agent/report.md", workspace)).toBeUndefined();
    expect(await filePathProblem("nope.md", workspace)).toBe("refused: missing");
    expect(await filePathProblem("link", workspace)).toBe("resolves outside the workspace");
    expect(await filePathProblem("/agents/secret.txt", workspace)).toBe("resolves outside the workspace");
  });
});
