/** Parent side of a benchmark child process (the bot, the floor echo client, an agent): spawn, ask over IPC, stop. */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { openSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BUILD_DIR = path.join(BENCH_DIR, ".build", "bench", "lib");

let built = false;
/** Compiles src/ and the child entries into bench/.build (tsc; seconds). */
export function buildChildren(): void {
  if (built) return;
  try {
    execFileSync("tsc", ["-p", path.join(BENCH_DIR, "tsconfig.build.json")], { stdio: "pipe" });
  } catch {
    // Type errors elsewhere still emit JavaScript; a missing output is caught at spawn.
  }
  built = true;
}

export interface Ready {
  readyMs: number;
  rooms: number;
  /** The bot's first /sync: when it was sent and when its whole body was in, ms after start() (bot child only). */
  firstSync?: {
    startMs: number;
    doneMs: number;
    /**
     * The bot's CPU (all threads, ms) from start() to sending it, while the homeserver computed it, and from its body
     * to ready; Synapse's CPU (ms) over the /sync when the child was given its pid (BENCH_SYNAPSE_PID).
     */
    cpu?: { beforeMs: number; duringMs: number; afterMs: number; synapseDuringMs?: number };
  };
}

export interface ChildHandle {
  readonly pid: number;
  /** Where the child's stdout and stderr (the bot's pino lines) go. */
  readonly logFile: string;
  readonly ready: Promise<Ready>;
  ask<T = Record<string, unknown>>(cmd: string): Promise<T>;
  stop(): Promise<void>;
}

export function spawnChild(entry: "bot-child" | "echo-child" | "agent-child", env: NodeJS.ProcessEnv, logFile: string): ChildHandle {
  buildChildren();
  const out = openSync(logFile, "a");
  const child: ChildProcess = fork(path.join(BUILD_DIR, `${entry}.js`), [], {
    env: { ...process.env, ...env },
    stdio: ["ignore", out, out, "ipc"],
    execArgv: ["--expose-gc"],
  });
  child.on("error", () => undefined); // a closed IPC channel is seen through `exit`
  let next = 0;
  const pending = new Map<number, (v: unknown) => void>();
  const ready = new Promise<Ready>((resolve, reject) => {
    child.on("message", (m: { type: string; id?: number; message?: string } & Ready) => {
      if (m.type === "ready") resolve({ readyMs: m.readyMs, rooms: m.rooms, ...(m.firstSync ? { firstSync: m.firstSync } : {}) });
      else if (m.type === "error") reject(new Error(`${entry} failed: ${m.message} (log: ${logFile})`));
      else if (m.type === "reply" && m.id !== undefined) pending.get(m.id)?.(m);
    });
    child.once("exit", (code) => reject(new Error(`${entry} exited with ${code} (log: ${logFile})`)));
  });
  ready.catch(() => undefined);
  const ask = <T>(cmd: string): Promise<T> =>
    new Promise<T>((resolve) => {
      const id = ++next;
      pending.set(id, (v) => {
        pending.delete(id);
        resolve(v as T);
      });
      child.send({ cmd, id }, (err) => {
        if (err) pending.get(id)?.({});
      });
    });
  return {
    pid: child.pid as number,
    logFile,
    ready,
    ask,
    async stop() {
      if (child.exitCode !== null || !child.connected) return;
      const exited = new Promise((r) => child.once("exit", r));
      await Promise.race([ask("stop"), exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
