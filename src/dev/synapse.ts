/**
 * Starts a real Synapse on 127.0.0.1 for e2e tests and the local stack
 * (`npm run stack`). A fresh temp dir by default; given `dir`, the secrets,
 * port, signing key and SQLite database found there are reused, so the
 * server keeps its users and rooms across runs.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import * as admin from "./synapse-admin.js";
import type { RateLimitOverride, RegisteredUser } from "./synapse-admin.js";
import { configPaths, homeserverYaml, logConfigYaml, newState, SERVER_NAME, signingKeyFile } from "./synapse-config.js";
import type { SynapseState } from "./synapse-config.js";
import * as proc from "./synapse-process.js";

export type { RateLimitOverride, RegisteredUser } from "./synapse-admin.js";
export {
  deleteRateLimitOverride,
  getRateLimitOverride,
  loginWithPassword,
  MatrixHttpError,
  overrideRateLimit,
  registerWithSharedSecret,
  whoami,
} from "./synapse-admin.js";

export interface StartSynapseOptions {
  /** Keep Synapse's rc_* defaults instead of raising every limit. */
  defaultRateLimits?: boolean;
  /** Data dir to create or reuse; default a fresh temp dir (removed by dispose()). */
  dir?: string;
  /** Fixed port; default the port saved in `dir` if still free, else a free one. */
  port?: number;
  /** Synapse size string; default "50M". */
  maxUploadSize?: string;
  /** Python of a venv with matrix-synapse; default `.venv-synapse` of this checkout. */
  python?: string;
  /** Default 60 s. */
  startTimeoutMs?: number;
  /** Localpart of the admin user created (or reused) at start; default "admin". */
  adminLocalpart?: string;
  logger?: Logger;
}

export interface SynapseHandle {
  readonly baseUrl: string;
  readonly serverName: string;
  readonly port: number;
  readonly dir: string;
  readonly sharedSecret: string;
  readonly adminUserId: string;
  readonly adminToken: string;
  registerUser(localpart: string, password?: string, admin?: boolean): Promise<RegisteredUser>;
  overrideRateLimit(userId: string, limit: RateLimitOverride): Promise<void>;
  deleteRateLimitOverride(userId: string): Promise<void>;
  isRunning(): boolean;
  /** Graceful stop (SIGTERM); data stays, restart() brings it back. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash; data stays. */
  kill(): Promise<void>;
  /** Stops if running, starts again on the same port/dir/database, waits for /health. */
  restart(): Promise<void>;
  /** stop() and, for a temp dir this module created, delete it. */
  dispose(): Promise<void>;
  /** Last lines of homeserver.log (WARNING and above). */
  logTail(lines?: number): string;
}

/** Finds `.venv-synapse/bin/python` in this checkout (walks up from this file, then cwd). */
export function defaultSynapsePython(): string {
  const fromEnv = process.env["SURFACES_SYNAPSE_VENV"];
  if (fromEnv) return path.join(fromEnv, "bin", "python");
  const starts = [path.dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (const start of starts) {
    for (let dir = start; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, ".venv-synapse", "bin", "python");
      if (existsSync(candidate)) return candidate;
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new Error("no .venv-synapse found in this checkout: run `bash scripts/synapse/install.sh` first");
}

function readState(file: string): SynapseState | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as SynapseState;
}

async function choosePort(requested: number | undefined, saved: number | undefined): Promise<number> {
  if (requested !== undefined) return requested;
  if (saved !== undefined && (await proc.portIsFree(saved))) return saved;
  return proc.freePort();
}

/** The admin from a previous run if its token or password still works, else a new registration. */
async function ensureAdmin(baseUrl: string, state: SynapseState, localpart: string): Promise<RegisteredUser> {
  const saved = state.admin;
  if (saved) {
    if ((await admin.whoami(baseUrl, saved.accessToken)) === saved.userId) return saved;
    try {
      return await admin.loginWithPassword(baseUrl, saved.userId, saved.password);
    } catch {
      // database was reset: register afresh below
    }
  }
  return admin.registerWithSharedSecret(baseUrl, state.sharedSecret, localpart, undefined, true);
}

export async function startSynapse(opts: StartSynapseOptions = {}): Promise<SynapseHandle> {
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ? path.resolve(opts.dir) : mkdtempSync(path.join(os.tmpdir(), "surfaces-synapse-"));
  mkdirSync(dir, { recursive: true });
  const paths = configPaths(dir);
  const python = opts.python ?? defaultSynapsePython();
  const timeoutMs = opts.startTimeoutMs ?? 60_000;

  const saved = readState(paths.state);
  const port = await choosePort(opts.port, saved?.port);
  const state: SynapseState = saved ? { ...saved, port } : newState(port);
  const baseUrl = `http://127.0.0.1:${port}`;

  if (!existsSync(paths.signingKey)) writeFileSync(paths.signingKey, signingKeyFile(), { mode: 0o600 });
  writeFileSync(paths.logConfig, logConfigYaml(paths.log));
  writeFileSync(
    paths.config,
    homeserverYaml({
      dir,
      port,
      state,
      defaultRateLimits: opts.defaultRateLimits ?? false,
      maxUploadSize: opts.maxUploadSize ?? "50M",
    }),
    { mode: 0o600 },
  );

  let current: proc.SynapseProcess | undefined;
  const launch = async (): Promise<void> => {
    const p = proc.spawnSynapse(python, paths.config, dir);
    current = p;
    try {
      await proc.waitForHealth(baseUrl, p, timeoutMs);
    } catch (err) {
      await proc.killProcess(p);
      throw new Error(
        `${(err as Error).message}\n--- ${paths.log} (tail) ---\n${proc.fileTail(paths.log)}\n` +
          `--- synapse stdout/stderr (tail) ---\n${p.outputTail()}`,
        { cause: err },
      );
    }
    opts.logger?.info({ base_url: baseUrl, dir }, "synapse is up");
  };

  await launch();
  let adminUser: RegisteredUser;
  try {
    adminUser = await ensureAdmin(baseUrl, state, opts.adminLocalpart ?? "admin");
  } catch (err) {
    if (current) await proc.stopProcess(current);
    throw err;
  }
  writeFileSync(paths.state, JSON.stringify({ ...state, admin: adminUser }, null, 2), { mode: 0o600 });

  const stop = async () => {
    if (current) await proc.stopProcess(current);
  };
  return {
    baseUrl,
    serverName: SERVER_NAME,
    port,
    dir,
    sharedSecret: state.sharedSecret,
    adminUserId: adminUser.userId,
    adminToken: adminUser.accessToken,
    registerUser: (localpart, password, isAdmin = false) =>
      admin.registerWithSharedSecret(baseUrl, state.sharedSecret, localpart, password, isAdmin),
    overrideRateLimit: (userId, limit) => admin.overrideRateLimit(baseUrl, adminUser.accessToken, userId, limit),
    deleteRateLimitOverride: (userId) => admin.deleteRateLimitOverride(baseUrl, adminUser.accessToken, userId),
    isRunning: () => proc.isRunning(current),
    stop,
    kill: async () => {
      if (current) await proc.killProcess(current);
    },
    restart: async () => {
      await stop();
      await launch();
    },
    dispose: async () => {
      await stop();
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
    logTail: (lines) => proc.fileTail(paths.log, lines),
  };
}
