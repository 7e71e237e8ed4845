/**
 * Child processes of a local homeserver (Synapse's main process and workers,
 * and the Redis and nginx of the worker topology): spawn, wait until they
 * answer, stop. Keeps the tail of stdout/stderr so a failed start can say why.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";

const OUTPUT_TAIL_BYTES = 8 * 1024;

export interface SynapseProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<string>;
  outputTail(): string;
}

// Children still running when the Node process exits (a crashed test run)
// would keep their port and SQLite lock; kill them on the way out.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackForExit(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of live) c.kill("SIGKILL");
  });
}

/** Synapse's main process, or with `app` a worker (configs are merged in order). */
export function spawnSynapse(
  python: string,
  configPaths: string | string[],
  cwd: string,
  app = "synapse.app.homeserver",
): SynapseProcess {
  const configs = (Array.isArray(configPaths) ? configPaths : [configPaths]).flatMap((c) => ["-c", c]);
  return spawnChild(python, ["-m", app, ...configs], cwd);
}

export function spawnChild(command: string, args: string[], cwd: string): SynapseProcess {
  const child = spawn(command, args, {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  trackForExit(child);
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-OUTPUT_TAIL_BYTES);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<string>((resolve) => {
    child.once("error", (err) => resolve(`spawn error: ${err.message}`));
    child.once("exit", (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`));
  });
  return { child, exited, outputTail: () => tail };
}

export function isRunning(proc: SynapseProcess | undefined): boolean {
  return proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;
}

/** Polls GET /health until 200; rejects early when the process dies. */
export async function waitForHealth(baseUrl: string, proc: SynapseProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died: string | undefined;
  void proc.exited.then((how) => (died = how));
  while (Date.now() < deadline) {
    if (died !== undefined) throw new Error(`Synapse exited before becoming healthy (${died})`);
    try {
      const res = await fetch(new URL("/health", baseUrl), { signal: AbortSignal.timeout(2_000) });
      await res.text();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Synapse did not answer GET /health with 200 within ${timeoutMs} ms`);
}

/** Polls a TCP connect to 127.0.0.1:port; rejects early when the process dies. */
export async function waitForPort(port: number, proc: SynapseProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died: string | undefined;
  void proc.exited.then((how) => (died = how));
  while (Date.now() < deadline) {
    if (died !== undefined) throw new Error(`process exited before listening on ${port} (${died})`);
    const open = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** SIGTERM, then SIGKILL after graceMs. Resolves once the process is gone. */
export async function stopProcess(proc: SynapseProcess, graceMs = 10_000): Promise<void> {
  if (!isRunning(proc)) return;
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

export async function killProcess(proc: SynapseProcess): Promise<void> {
  if (!isRunning(proc)) return;
  proc.child.kill("SIGKILL");
  await proc.exited;
}

/** A port the OS reports free right now (bind 0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not get a free port"))));
    });
  });
}

/** True when nothing listens on 127.0.0.1:port. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

export function fileTail(file: string, lines = 40): string {
  if (!existsSync(file)) return "(no log file)";
  return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
}
