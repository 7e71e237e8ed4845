/**
 * Starts a real Synapse on 127.0.0.1 for e2e tests and the local stack
 * (`npm run stack`). A fresh temp dir by default; given `dir`, the secrets,
 * port, signing key and database found there are reused, so the server keeps
 * its users and rooms across runs.
 *
 * Topologies: "sqlite" (one process, the default), "postgres" (one process on
 * a PostgreSQL database of its own) and "workers" (PostgreSQL, a main process
 * and the generic workers of synapse-workers.ts, a private Redis for
 * replication and nginx routing paths to them; clients only see nginx).
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
import { startProxy, startRedis } from "./synapse-infra.js";
import * as pg from "./synapse-postgres.js";
import * as proc from "./synapse-process.js";
import { WORKERS, workerPaths, workerYaml, type WorkerPorts } from "./synapse-workers.js";

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

export type SynapseTopology = "sqlite" | "postgres" | "workers";

export const SYNAPSE_TOPOLOGIES: readonly SynapseTopology[] = ["sqlite", "postgres", "workers"];

export function parseTopology(value: string | undefined): SynapseTopology {
  if (value === undefined || value === "" || value === "single") return "sqlite";
  if ((SYNAPSE_TOPOLOGIES as readonly string[]).includes(value)) return value as SynapseTopology;
  throw new Error(`unknown Synapse topology "${value}" (one of: ${SYNAPSE_TOPOLOGIES.join(", ")}, single)`);
}

export interface StartSynapseOptions {
  /** Default "sqlite" (one process). */
  topology?: SynapseTopology;
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
  /** Log every request with its CPU time (the benchmarks' per-request breakdown); always on with workers. */
  accessLog?: boolean;
  logger?: Logger;
}

export interface SynapseHandle {
  readonly baseUrl: string;
  readonly serverName: string;
  readonly port: number;
  readonly dir: string;
  readonly sharedSecret: string;
  readonly topology: SynapseTopology;
  /** The PostgreSQL database, for "postgres" and "workers". */
  readonly postgresDatabase: string | undefined;
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
  /** stop(), Redis and nginx too and, for a temp dir this module created, delete it and its database. */
  dispose(): Promise<void>;
  /** Last lines of homeserver.log (WARNING and above; with workers also the access log), and of each worker's log. */
  logTail(lines?: number): string;
  /** Log file of each Synapse process by name ("main", then the workers). */
  readonly logFiles: Readonly<Record<string, string>>;
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

const STALE_TEST_DATABASE_MS = 6 * 60 * 60 * 1000;

async function workerPorts(publicPort: number): Promise<WorkerPorts> {
  const workers: Record<string, number> = {};
  for (const w of WORKERS) workers[w.name] = await proc.freePort();
  return {
    main: await proc.freePort(),
    replication: await proc.freePort(),
    workers,
    proxy: publicPort,
    redis: await proc.freePort(),
  };
}

export async function startSynapse(opts: StartSynapseOptions = {}): Promise<SynapseHandle> {
  const topology = opts.topology ?? "sqlite";
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

  const pgServer = topology === "sqlite" ? undefined : pg.postgresFromEnv();
  if (pgServer) {
    // Runs last minutes; anything older than this was left by a killed run.
    if (ownsDir) await pg.dropStaleDatabases(pgServer, STALE_TEST_DATABASE_MS);
    state.postgresDatabase ??= pg.uniqueDatabaseName(ownsDir);
    await pg.ensureDatabase(pgServer, state.postgresDatabase);
  }
  const dropOwnedDatabase = async () => {
    if (pgServer && ownsDir && state.postgresDatabase) await pg.dropDatabase(pgServer, state.postgresDatabase);
  };
  const ports = topology === "workers" ? await workerPorts(port) : undefined;

  if (!existsSync(paths.signingKey)) writeFileSync(paths.signingKey, signingKeyFile(), { mode: 0o600 });
  writeFileSync(paths.logConfig, logConfigYaml(paths.log, ports !== undefined || opts.accessLog === true));
  writeFileSync(
    paths.config,
    homeserverYaml({
      dir,
      port,
      state,
      defaultRateLimits: opts.defaultRateLimits ?? false,
      maxUploadSize: opts.maxUploadSize ?? "50M",
      database: pgServer && state.postgresDatabase ? pg.postgresDatabaseConfig(pgServer, state.postgresDatabase) : undefined,
      workers: ports,
    }),
    { mode: 0o600 },
  );
  for (const w of ports ? WORKERS : []) {
    const wp = workerPaths(dir, w.name);
    writeFileSync(wp.logConfig, logConfigYaml(wp.log, true));
    writeFileSync(wp.config, workerYaml(w.name, ports?.workers[w.name] ?? 0, wp.logConfig));
  }

  // Redis and nginx live as long as the handle; stop()/kill()/restart() only
  // touch the Synapse processes, as a homeserver crash would.
  const infra: proc.SynapseProcess[] = [];
  let proxyUp = false;
  let current: proc.SynapseProcess[] = [];

  const failure = (err: unknown, p: proc.SynapseProcess, log: string) =>
    new Error(
      `${(err as Error).message}\n--- ${log} (tail) ---\n${proc.fileTail(log)}\n` +
        `--- synapse stdout/stderr (tail) ---\n${p.outputTail()}`,
      { cause: err },
    );
  const startOne = async (configs: string[], app: string | undefined, url: string, log: string) => {
    const p = proc.spawnSynapse(python, configs, dir, app);
    current.push(p);
    try {
      await proc.waitForHealth(url, p, timeoutMs);
    } catch (err) {
      throw failure(err, p, log);
    }
  };
  const stopAll = async (how: (p: proc.SynapseProcess) => Promise<void>) => {
    // Workers first: they would log replication errors while the main process goes.
    const procs = current;
    current = [];
    await Promise.all(procs.slice(1).map(how));
    if (procs[0]) await how(procs[0]);
  };
  const launch = async (): Promise<void> => {
    try {
      if (!ports) {
        await startOne([paths.config], undefined, baseUrl, paths.log);
      } else {
        await startOne([paths.config], undefined, `http://127.0.0.1:${ports.main}`, paths.log);
        await Promise.all(
          WORKERS.map((w) => {
            const wp = workerPaths(dir, w.name);
            const url = `http://127.0.0.1:${ports.workers[w.name] ?? 0}`;
            return startOne([paths.config, wp.config], "synapse.app.generic_worker", url, wp.log);
          }),
        );
      }
      if (proxyUp) await waitThroughProxy();
    } catch (err) {
      await stopAll(proc.killProcess);
      throw err;
    }
    opts.logger?.info({ base_url: baseUrl, dir, topology }, "synapse is up");
  };
  // /health through nginx: proves the proxy routes to a live main process.
  const waitThroughProxy = async () => {
    const main = current[0];
    if (main) await proc.waitForHealth(baseUrl, main, timeoutMs);
  };
  const disposeInfra = async () => {
    await Promise.all(infra.splice(0).map((p) => proc.stopProcess(p)));
  };

  try {
    if (ports) infra.push(await startRedis(dir, ports.redis, timeoutMs));
    await launch();
    if (ports) {
      infra.push(await startProxy(dir, ports, timeoutMs));
      proxyUp = true;
      await waitThroughProxy();
    }
  } catch (err) {
    await stopAll(proc.killProcess);
    await disposeInfra();
    await dropOwnedDatabase().catch(() => undefined);
    throw err;
  }

  let adminUser: RegisteredUser;
  try {
    adminUser = await ensureAdmin(baseUrl, state, opts.adminLocalpart ?? "admin");
  } catch (err) {
    await stopAll(proc.stopProcess);
    await disposeInfra();
    await dropOwnedDatabase().catch(() => undefined);
    throw err;
  }
  writeFileSync(paths.state, JSON.stringify({ ...state, admin: adminUser }, null, 2), { mode: 0o600 });

  const stop = () => stopAll(proc.stopProcess);
  const logFiles: Record<string, string> = { main: paths.log };
  for (const w of ports ? WORKERS : []) logFiles[w.name] = workerPaths(dir, w.name).log;
  const logs = Object.values(logFiles);
  return {
    baseUrl,
    serverName: SERVER_NAME,
    port,
    dir,
    sharedSecret: state.sharedSecret,
    topology,
    postgresDatabase: state.postgresDatabase,
    adminUserId: adminUser.userId,
    adminToken: adminUser.accessToken,
    registerUser: (localpart, password, isAdmin = false) =>
      admin.registerWithSharedSecret(baseUrl, state.sharedSecret, localpart, password, isAdmin),
    overrideRateLimit: (userId, limit) => admin.overrideRateLimit(baseUrl, adminUser.accessToken, userId, limit),
    deleteRateLimitOverride: (userId) => admin.deleteRateLimitOverride(baseUrl, adminUser.accessToken, userId),
    isRunning: () => current.length > 0 && current.every((p) => proc.isRunning(p)),
    stop,
    kill: () => stopAll(proc.killProcess),
    restart: async () => {
      await stop();
      await launch();
    },
    dispose: async () => {
      await stop();
      await disposeInfra();
      await dropOwnedDatabase();
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
    logFiles,
    logTail: (lines) =>
      logs.length === 1
        ? proc.fileTail(paths.log, lines)
        : logs.map((l) => `--- ${path.basename(l)} ---\n${proc.fileTail(l, lines)}`).join("\n"),
  };
}
