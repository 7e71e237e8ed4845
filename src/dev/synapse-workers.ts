/**
 * The worker topology of a local Synapse (main process + generic workers,
 * Redis replication, nginx routing paths to them), as pure strings: the extra
 * homeserver.yaml keys, each worker's yaml and the nginx.conf. The route
 * lists follow Synapse's workers documentation for `generic_worker`.
 */
import path from "node:path";
import { stringify } from "yaml";

export interface WorkerSpec {
  name: string;
  /** nginx regexes (matched against the decoded path) this worker serves. */
  routes: string[];
}

const C = "^/_matrix/client/(api/v1|r0|v3|unstable)";

/**
 * `sync1` serves the long-polls; `client1` serves client reads and every
 * event-sending path (messages, edits, state, membership, profile), so a
 * write and the bot's next /sync always go through different processes.
 * Everything else (admin API, media, typing, receipts, to-device, keys
 * upload) stays on the main process, which also persists events.
 */
export const WORKERS: readonly WorkerSpec[] = [
  {
    name: "sync1",
    routes: [
      "^/_matrix/client/(r0|v3)/sync$",
      // simplified sliding sync: the bot's first sync after a rebuild (sliding-first-sync.ts)
      "^/_matrix/client/unstable/org.matrix.simplified_msc3575/.*$",
      `${C}/events$`,
      `${C}/initialSync$`,
      `${C}/rooms/[^/]+/initialSync$`,
    ],
  },
  {
    name: "client1",
    routes: [
      // event sending
      `${C}/rooms/.*/send`,
      `${C}/rooms/.*/state/`,
      `${C}/rooms/.*/redact`,
      `${C}/rooms/.*/(join|invite|leave|ban|unban|kick)$`,
      `${C}/join/`,
      `${C}/knock/`,
      `${C}/profile/`,
      `${C}/createRoom$`,
      // client reads
      `${C}/rooms/.*/messages$`,
      `${C}/rooms/.*/state$`,
      `${C}/rooms/.*/members$`,
      `${C}/rooms/.*/joined_members$`,
      `${C}/rooms/.*/context/.*$`,
      `${C}/rooms/.*/event/`,
      "^/_matrix/client/(v1|unstable)/rooms/.*/relations/",
      `${C}/joined_rooms$`,
      `${C}/publicRooms$`,
      `${C}/search$`,
      "^/_matrix/client/(r0|v3|unstable)/user/.*/filter(/|$)",
      "^/_matrix/client/(r0|v3|unstable)/account/whoami$",
      "^/_matrix/client/(r0|v3|unstable)/capabilities$",
      "^/_matrix/client/(r0|v3|unstable)/devices$",
      "^/_matrix/client/(r0|v3|unstable)/keys/query$",
      "^/_matrix/client/(r0|v3|unstable)/keys/changes$",
      `${C}/login$`,
    ],
  },
];

export interface WorkerPorts {
  /** Main process: client listener behind the proxy. */
  main: number;
  /** Main process: HTTP replication listener (instance_map.main). */
  replication: number;
  /** One client listener per worker, by name. */
  workers: Record<string, number>;
  /** The proxy: the only URL clients see. */
  proxy: number;
  /** The private Redis of this topology. */
  redis: number;
}

export const workerPaths = (dir: string, name: string) => ({
  config: path.join(dir, `worker-${name}.yaml`),
  logConfig: path.join(dir, `worker-${name}.log.config.yaml`),
  log: path.join(dir, `worker-${name}.log`),
});

export const proxyPaths = (dir: string) => ({
  config: path.join(dir, "nginx.conf"),
  pid: path.join(dir, "nginx.pid"),
  errorLog: path.join(dir, "nginx-error.log"),
  temp: path.join(dir, "nginx-temp"),
});

/** Keys merged into homeserver.yaml when workers run beside the main process. */
export function mainWorkerConfig(ports: WorkerPorts): Record<string, unknown> {
  return {
    instance_map: { main: { host: "127.0.0.1", port: ports.replication } },
    // A private redis-server: Synapse's pub/sub channel is the server name,
    // so two topologies named "localhost" on one Redis would cross-talk.
    redis: { enabled: true, host: "127.0.0.1", port: ports.redis },
  };
}

/** The main process's replication listener (workers call it over HTTP). */
export function replicationListener(port: number): Record<string, unknown> {
  return {
    port,
    bind_addresses: ["127.0.0.1"],
    type: "http",
    tls: false,
    resources: [{ names: ["replication"], compress: false }],
  };
}

export function workerYaml(name: string, port: number, logConfig: string): string {
  return stringify({
    worker_app: "synapse.app.generic_worker",
    worker_name: name,
    worker_listeners: [
      {
        port,
        bind_addresses: ["127.0.0.1"],
        type: "http",
        tls: false,
        x_forwarded: true,
        resources: [{ names: ["client"], compress: false }],
      },
    ],
    worker_log_config: logConfig,
  });
}

/**
 * nginx in the foreground with everything (pid, logs, temp files) in `dir`.
 * Regex locations are tried in order; the rest goes to the main process.
 * No body-size limit and no buffering: Synapse decides on uploads, and
 * /sync long-polls stream through.
 */
export function nginxConf(dir: string, ports: WorkerPorts, workers: readonly WorkerSpec[], asRoot: boolean): string {
  const p = proxyPaths(dir);
  const upstream = (name: string, port: number) =>
    `  upstream ${name} {\n    server 127.0.0.1:${port};\n    keepalive 16;\n  }\n`;
  const locations = workers
    .flatMap((w) => w.routes.map((r) => `    location ~ ${r} {\n      proxy_pass http://${w.name};\n    }\n`))
    .join("");
  return [
    // Workers of a root master would run as nobody and could not write the
    // temp dirs inside a 0700 data dir.
    asRoot ? "user root;\n" : "",
    "daemon off;\n",
    "worker_processes 1;\n",
    `pid ${p.pid};\n`,
    `error_log ${p.errorLog} warn;\n`,
    "events {\n  worker_connections 1024;\n}\n",
    "http {\n",
    "  access_log off;\n",
    `  client_body_temp_path ${path.join(p.temp, "body")};\n`,
    `  proxy_temp_path ${path.join(p.temp, "proxy")};\n`,
    `  fastcgi_temp_path ${path.join(p.temp, "fastcgi")};\n`,
    `  uwsgi_temp_path ${path.join(p.temp, "uwsgi")};\n`,
    `  scgi_temp_path ${path.join(p.temp, "scgi")};\n`,
    "  client_max_body_size 0;\n",
    "  proxy_http_version 1.1;\n",
    '  proxy_set_header Connection "";\n',
    "  proxy_set_header Host $host;\n",
    "  proxy_set_header X-Forwarded-For $remote_addr;\n",
    "  proxy_set_header X-Forwarded-Proto $scheme;\n",
    "  proxy_buffering off;\n",
    "  proxy_request_buffering off;\n",
    "  proxy_read_timeout 600s;\n",
    "  proxy_send_timeout 600s;\n",
    upstream("main", ports.main),
    ...workers.map((w) => upstream(w.name, portOf(ports, w.name))),
    "  server {\n",
    `    listen 127.0.0.1:${ports.proxy};\n`,
    locations,
    "    location / {\n      proxy_pass http://main;\n    }\n",
    "  }\n",
    "}\n",
  ].join("");
}

function portOf(ports: WorkerPorts, name: string): number {
  const port = ports.workers[name];
  if (port === undefined) throw new Error(`no port for worker ${name}`);
  return port;
}
