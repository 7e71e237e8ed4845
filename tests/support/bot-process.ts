/**
 * The bot as a real child process (`src/main.ts bot`), for tests that must
 * SIGKILL or SIGTERM it. Same configuration as an in-process fixture: pass
 * `BotFixture.env` after stopping that fixture's app.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface BotProcess {
  child: ChildProcess;
  /** Log lines (pino JSON) and stderr so far. */
  output: string[];
  /** Resolves once the bot logged "ready". */
  ready: Promise<void>;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

export function spawnBot(env: NodeJS.ProcessEnv): BotProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "bot"], {
    cwd: ROOT,
    env: { PATH: process.env["PATH"], HOME: process.env["HOME"], SURFACES_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  let markReady!: () => void;
  let failReady!: (err: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line) continue;
      output.push(line);
      if (line.includes('"msg":"ready"')) markReady();
    }
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      failReady(new Error(`bot exited before ready (code ${code}, signal ${signal}):\n${output.slice(-20).join("\n")}`));
      resolve({ code, signal });
    }),
  );
  return { child, output, ready, exited, kill: (signal) => void child.kill(signal) };
}
