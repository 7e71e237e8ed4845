/**
 * A PostgreSQL database per test/dev Synapse, created and dropped through the
 * `psql` client (no Node driver needed). The server is the machine's own:
 * SURFACES_PG_HOST / SURFACES_PG_PORT / SURFACES_PG_USER, default
 * 127.0.0.1:5432 as `postgres` with trust auth.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
}

export function postgresFromEnv(env: NodeJS.ProcessEnv = process.env): PostgresServer {
  return {
    host: env["SURFACES_PG_HOST"] ?? "127.0.0.1",
    port: Number(env["SURFACES_PG_PORT"] ?? 5432),
    user: env["SURFACES_PG_USER"] ?? "postgres",
  };
}

const TEST_PREFIX = "surfaces_test_";

/**
 * A name no other run picks; only [a-z0-9_] so it needs no quoting. Throwaway
 * servers get `surfaces_test_<base36 ms>_…` (swept once stale), servers with
 * a data dir of their own `surfaces_dev_…` (never swept).
 */
export function uniqueDatabaseName(throwaway = true, now = Date.now()): string {
  return `${throwaway ? TEST_PREFIX : "surfaces_dev_"}${now.toString(36)}_${randomBytes(4).toString("hex")}`;
}

/** When a throwaway database was named, or undefined for any other name. */
export function throwawayCreatedAt(name: string): number | undefined {
  const m = /^surfaces_test_([0-9a-z]+)_[0-9a-f]+$/.exec(name);
  return m?.[1] ? parseInt(m[1], 36) : undefined;
}

/**
 * Drops throwaway databases older than `maxAgeMs`: a test run that was
 * killed never reached its own drop. Returns the names dropped.
 */
export async function dropStaleDatabases(server: PostgresServer, maxAgeMs: number, now = Date.now()): Promise<string[]> {
  const names = (await psql(server, `SELECT datname FROM pg_database WHERE datname LIKE '${TEST_PREFIX}%'`)).split("\n");
  const stale = names.filter((n) => {
    const at = throwawayCreatedAt(n.trim());
    return at !== undefined && now - at > maxAgeMs;
  });
  for (const n of stale) await dropDatabase(server, n.trim());
  return stale;
}

async function psql(server: PostgresServer, sql: string): Promise<string> {
  try {
    const { stdout } = await run(
      "psql",
      ["-h", server.host, "-p", String(server.port), "-U", server.user, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-tAc", sql],
      { timeout: 30_000 },
    );
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `psql at ${server.host}:${server.port} failed: ${(e.stderr ?? e.message).trim()} ` +
        "(is PostgreSQL running? see docs/operator-guide.md, 'Large homeserver')",
      { cause: err },
    );
  }
}

function checkName(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unsafe database name: ${name}`);
  return name;
}

/** Creates the database unless it exists, with the C collation Synapse requires. */
export async function ensureDatabase(server: PostgresServer, name: string): Promise<void> {
  const db = checkName(name);
  const exists = await psql(server, `SELECT 1 FROM pg_database WHERE datname = '${db}'`);
  if (exists === "1") return;
  await psql(server, `CREATE DATABASE ${db} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
}

/** Drops the database, closing any connection a killed Synapse left behind. */
export async function dropDatabase(server: PostgresServer, name: string): Promise<void> {
  await psql(server, `DROP DATABASE IF EXISTS ${checkName(name)} WITH (FORCE)`);
}

/** The `database:` section of homeserver.yaml for this database. */
export function postgresDatabaseConfig(server: PostgresServer, name: string): Record<string, unknown> {
  return {
    name: "psycopg2",
    args: { user: server.user, host: server.host, port: server.port, database: name, cp_min: 1, cp_max: 5 },
  };
}
