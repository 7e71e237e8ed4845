/**
 * Runs examples/python-agent/agent.py from the venv that
 * scripts/python-agent/install.sh creates (scripts/test.sh and .ci/run call
 * it), on a free port, and resolves once it logs where it listens.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const PYTHON_AGENT_DIR = join(ROOT, "examples", "python-agent");
const PYTHON = join(process.env["SURFACES_PYTHON_AGENT_VENV"] ?? join(ROOT, ".venv-python-agent"), "bin", "python");

export interface PythonAgent {
  url: string;
  /** Everything the agent logged so far (for assertions and post-mortems). */
  output(): string;
  close(): Promise<void>;
}

export async function startPythonAgent(opts: { workspace: string; token?: string }): Promise<PythonAgent> {
  if (!existsSync(PYTHON)) {
    throw new Error(`no Python agent venv at ${PYTHON}: run bash scripts/python-agent/install.sh (npm test does)`);
  }
  const child: ChildProcess = spawn(PYTHON, ["agent.py"], {
    cwd: PYTHON_AGENT_DIR,
    env: {
      PATH: process.env["PATH"] ?? "",
      AGENT_HOST: "127.0.0.1",
      AGENT_PORT: "0",
      AGENT_WORKSPACE: opts.workspace,
      PYTHONUNBUFFERED: "1",
      PYTHONDONTWRITEBYTECODE: "1",
      ...(opts.token !== undefined && { AGENT_TOKEN: opts.token }),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));

  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Python agent did not start within 15 s:\n${log}`)), 15_000);
    const onData = (): void => {
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(log);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the Python agent exited (${code}) before listening:\n${log}`));
    });
  });

  return {
    url,
    output: () => log,
    async close() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}
