/**
 * The example Python agent (examples/python-agent/, run from the venv that
 * scripts/python-agent/install.sh builds) passes `surfaces agent-check` run
 * as the real command, and its confirm round works.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RULES } from "../../src/agent-check/check.js";
import { connect, type ProbeSocket } from "../../src/agent-check/probe.js";
import { Turn } from "../../src/agent-check/turn.js";
import { startPythonAgent, type PythonAgent } from "../support/python-agent.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("the example Python agent", () => {
  let agent: PythonAgent;
  let workspace: string;
  beforeAll(async () => {
    workspace = mkdtempSync(join(tmpdir(), "surfaces-python-agent-"));
    agent = await startPythonAgent({ workspace, token: "py-s3cret" });
  });
  afterAll(() => agent?.close());

  it("passes every agent-check rule (the real command, token from AGENT_TOKEN)", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/main.ts", "agent-check", agent.url, "--file-prompt", "please write a report", "--workspace", workspace],
      { cwd: ROOT, env: { PATH: process.env["PATH"], AGENT_TOKEN: "py-s3cret" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once("exit", r));
    expect(out).toContain(`agent-check: ${RULES.length} passed, 0 failed, 0 skipped`);
    for (const rule of RULES) expect(out).toMatch(new RegExp(`^PASS  ${rule} `, "m"));
    expect(code).toBe(0);
    expect(readFileSync(join(workspace, "reports", "report-agent-check-6.md"), "utf8")).toContain("# Report");
  }, 60_000);

  it("asks before cleaning up and keeps the reports on !no", async () => {
    const connected = await connect({ baseUrl: agent.url, token: "py-s3cret", timeoutMs: 5000 }, () => undefined);
    expect(connected.ok).toBe(true);
    const socket = connected.socket as ProbeSocket;
    const turn = new Turn(socket, "42", "clean up please");
    const confirm = await new Promise<{ confirm_id: string; prompt: string }>((resolve) => {
      const stop = socket.listen((r) => {
        if (r.parsed.ok && r.parsed.frame.type === "confirm") {
          stop();
          resolve(r.parsed.frame);
        }
      });
    });
    expect(confirm.prompt).toBe("Delete all reports in the workspace?");
    socket.send({ type: "confirm_result", request_id: turn.requestId, confirm_id: confirm.confirm_id, approved: false });
    const outcome = await turn.finish(10_000, 100);
    expect(outcome.terminals).toEqual(["end"]);
    const text = outcome.frames.map((f) => (f.type === "text" ? f.delta : "")).join("");
    expect(text).toMatch(/^Kept the reports\. You said \(3 words\): clean up please$/);
    await socket.close();
  });
});
