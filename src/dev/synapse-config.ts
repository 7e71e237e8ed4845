/**
 * The homeserver.yaml, log config and signing key for a local test/dev
 * Synapse (checked against Synapse 1.163's config parser). Pure: returns
 * strings; the caller writes them.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import path from "node:path";
import { stringify } from "yaml";
import { mainWorkerConfig, replicationListener, type WorkerPorts } from "./synapse-workers.js";

/** Secrets and the port kept in the data dir so a restart finds the same server. */
export interface SynapseState {
  port: number;
  sharedSecret: string;
  macaroonSecret: string;
  formSecret: string;
  /** PostgreSQL database name, when the server runs on PostgreSQL. */
  postgresDatabase?: string;
  admin?: { userId: string; password: string; accessToken: string; deviceId: string };
}

export interface SynapseConfigInput {
  dir: string;
  /** The port clients use: Synapse's own listener, or the proxy's with workers. */
  port: number;
  state: SynapseState;
  /** Keep Synapse's own rc_* defaults (for tests of rate-limit behaviour). */
  defaultRateLimits: boolean;
  /** Synapse size string, e.g. "50M". */
  maxUploadSize: string;
  /** The `database:` section; default SQLite in the data dir. */
  database?: Record<string, unknown>;
  /** With workers: the main process listens on ports.main behind the proxy. */
  workers?: WorkerPorts;
}

export const SERVER_NAME = "localhost";

// High enough that no test ever meets them, low enough to stay sane floats.
const UNLIMITED = { per_second: 100_000, burst_count: 1_000_000 };

/**
 * Every client-side limiter RatelimitConfig.read_config parses in 1.163
 * (synapse/config/ratelimiting.py). Federation and remote-media limits are
 * left alone: the test server never federates.
 */
export function unlimitedRateLimits(): Record<string, unknown> {
  return {
    rc_message: UNLIMITED,
    rc_registration: UNLIMITED,
    rc_registration_token_validity: UNLIMITED,
    rc_login: { address: UNLIMITED, account: UNLIMITED, failed_attempts: UNLIMITED },
    rc_admin_redaction: UNLIMITED,
    rc_joins: { local: UNLIMITED, remote: UNLIMITED },
    rc_joins_per_room: UNLIMITED,
    rc_key_requests: UNLIMITED,
    rc_3pid_validation: UNLIMITED,
    rc_invites: { per_room: UNLIMITED, per_user: UNLIMITED, per_issuer: UNLIMITED },
    rc_third_party_invite: UNLIMITED,
    rc_media_create: UNLIMITED,
    rc_presence: { per_user: UNLIMITED },
    rc_delayed_event_mgmt: UNLIMITED,
    rc_room_creation: UNLIMITED,
    rc_reports: UNLIMITED,
    rc_user_directory: UNLIMITED,
    rc_profile: UNLIMITED,
  };
}

export const configPaths = (dir: string) => ({
  config: path.join(dir, "homeserver.yaml"),
  logConfig: path.join(dir, "log.config.yaml"),
  log: path.join(dir, "homeserver.log"),
  signingKey: path.join(dir, "localhost.signing.key"),
  database: path.join(dir, "homeserver.db"),
  media: path.join(dir, "media_store"),
  state: path.join(dir, "surfaces-synapse.json"),
  pid: path.join(dir, "homeserver.pid"),
});

export function homeserverYaml(input: SynapseConfigInput): string {
  const p = configPaths(input.dir);
  const workers = input.workers;
  const config: Record<string, unknown> = {
    server_name: SERVER_NAME,
    public_baseurl: `http://127.0.0.1:${input.port}/`,
    pid_file: p.pid,
    listeners: [
      {
        port: workers ? workers.main : input.port,
        bind_addresses: ["127.0.0.1"],
        type: "http",
        tls: false,
        x_forwarded: workers !== undefined,
        // The admin API (/_synapse/admin) is mounted with the client resource.
        resources: [{ names: ["client"], compress: false }],
      },
      ...(workers ? [replicationListener(workers.replication)] : []),
    ],
    ...(workers ? mainWorkerConfig(workers) : {}),
    // A file, not :memory:, so restart() keeps rooms and users.
    database: input.database ?? { name: "sqlite3", args: { database: p.database } },
    log_config: p.logConfig,
    media_store_path: p.media,
    max_upload_size: input.maxUploadSize,
    signing_key_path: p.signingKey,
    registration_shared_secret: input.state.sharedSecret,
    macaroon_secret_key: input.state.macaroonSecret,
    form_secret: input.state.formSecret,
    enable_registration: false,
    bcrypt_rounds: 4,
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    report_stats: false,
    presence: { enabled: false },
    // Synapse replays a cached /sync answer for identical requests made within
    // this window; a bot restarted on a fresh database would then get a stale
    // initial sync. Tests restart bots within seconds, so no caching here.
    caches: { sync_response_cache_duration: 0 },
    url_preview_enabled: false,
    ...(input.defaultRateLimits ? {} : unlimitedRateLimits()),
  };
  return stringify(config);
}

/** `accessLog`: also log each request (the listener's access logger), to see which process served it. */
export function logConfigYaml(logFile: string, accessLog = false): string {
  return stringify({
    version: 1,
    formatters: {
      // `request` is filled in by Synapse's log record factory.
      precise: { format: "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s" },
    },
    handlers: {
      file: { class: "logging.FileHandler", formatter: "precise", filename: logFile, encoding: "utf8" },
    },
    root: { level: "WARNING", handlers: ["file"] },
    ...(accessLog ? { loggers: { "synapse.access": { level: "INFO" } } } : {}),
    disable_existing_loggers: false,
  });
}

/** A fresh ed25519 key in Synapse's "ed25519 <version> <unpadded base64 seed>" format. */
export function signingKeyFile(): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  if (!jwk.d) throw new Error("ed25519 JWK export has no private part");
  const seed = Buffer.from(jwk.d, "base64url").toString("base64").replace(/=+$/, "");
  const version = `a_${randomBytes(2).toString("hex")}`;
  return `ed25519 ${version} ${seed}\n`;
}

export function newState(port: number): SynapseState {
  const secret = () => randomBytes(24).toString("hex");
  return { port, sharedSecret: secret(), macaroonSecret: secret(), formSecret: secret() };
}
