/**
 * The worker topology's generated files (src/dev/synapse-workers.ts and the
 * homeserver.yaml keys from synapse-config.ts): every worker has an upstream
 * and its routes, the rest goes to the main process, and the main process
 * gets the replication listener, instance_map and Redis the workers need.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { homeserverYaml, newState } from "../../src/dev/synapse-config.js";
import { nginxConf, WORKERS, workerYaml, type WorkerPorts } from "../../src/dev/synapse-workers.js";

interface Listener {
  port: number;
  resources: Array<{ names: string[] }>;
}
interface HomeserverYaml {
  public_baseurl: string;
  listeners: Listener[];
  instance_map?: unknown;
  redis?: unknown;
  database: { name: string };
}
interface WorkerYamlShape {
  worker_app: string;
  worker_name: string;
  worker_listeners: Listener[];
}

const ports: WorkerPorts = { main: 8101, replication: 8102, workers: { sync1: 8103, client1: 8104 }, proxy: 8100, redis: 8105 };

/** The upstream an nginx regex location sends a path to (first match wins, as in nginx). */
function routeOf(conf: string, path: string): string {
  for (const m of conf.matchAll(/location ~ (\S+) \{\s*proxy_pass http:\/\/(\w+);/g)) {
    if (new RegExp(m[1] ?? "").test(path)) return m[2] ?? "";
  }
  return "main";
}

describe("worker topology config", () => {
  const conf = nginxConf("/tmp/x", ports, WORKERS, false);

  it("routes sync to sync1, event sending and client reads to client1, admin and media to main", () => {
    expect(routeOf(conf, "/_matrix/client/v3/sync")).toBe("sync1");
    expect(routeOf(conf, "/_matrix/client/v3/rooms/!a:localhost/send/m.room.message/t1")).toBe("client1");
    expect(routeOf(conf, "/_matrix/client/v3/rooms/!a:localhost/state/m.space.child/!b:localhost")).toBe("client1");
    expect(routeOf(conf, "/_matrix/client/v3/rooms/!a:localhost/messages")).toBe("client1");
    expect(routeOf(conf, "/_matrix/client/v3/createRoom")).toBe("client1");
    expect(routeOf(conf, "/_synapse/admin/v1/register")).toBe("main");
    expect(routeOf(conf, "/_matrix/client/v1/media/upload")).toBe("main");
    expect(routeOf(conf, "/_matrix/client/v3/rooms/!a:localhost/typing/@bot:localhost")).toBe("main");
  });

  it("has one upstream per process on its own port, and the proxy listens on the public port", () => {
    expect(conf).toContain("listen 127.0.0.1:8100;");
    for (const [name, port] of [["main", 8101], ["sync1", 8103], ["client1", 8104]] as const) {
      expect(conf).toMatch(new RegExp(`upstream ${name} \\{\\s*server 127\\.0\\.0\\.1:${port};`));
    }
    expect(conf).not.toContain("user root;");
    expect(nginxConf("/tmp/x", ports, WORKERS, true)).toContain("user root;");
  });

  it("gives the main process replication, instance_map and Redis, behind the proxy's public URL", () => {
    const hs = parse(
      homeserverYaml({ dir: "/tmp/x", port: 8100, state: newState(8100), defaultRateLimits: false, maxUploadSize: "50M", workers: ports }),
    ) as HomeserverYaml;
    expect(hs.public_baseurl).toBe("http://127.0.0.1:8100/");
    expect(hs.listeners.map((l) => l.port)).toEqual([8101, 8102]);
    expect(hs.listeners[1]?.resources[0]?.names).toEqual(["replication"]);
    expect(hs.instance_map).toEqual({ main: { host: "127.0.0.1", port: 8102 } });
    expect(hs.redis).toEqual({ enabled: true, host: "127.0.0.1", port: 8105 });

    const single = parse(
      homeserverYaml({ dir: "/tmp/x", port: 8100, state: newState(8100), defaultRateLimits: false, maxUploadSize: "50M" }),
    ) as HomeserverYaml;
    expect(single.redis).toBeUndefined();
    expect(single.database.name).toBe("sqlite3");
  });

  it("writes each worker as a generic_worker with a client listener", () => {
    const w = parse(workerYaml("sync1", 8103, "/tmp/x/log.yaml")) as WorkerYamlShape;
    expect(w.worker_app).toBe("synapse.app.generic_worker");
    expect(w.worker_name).toBe("sync1");
    expect(w.worker_listeners[0]).toMatchObject({ port: 8103, resources: [{ names: ["client"] }] });
  });
});

describe("throwaway PostgreSQL database names", () => {
  it("carry their creation time, so a killed run's database can be swept; a data dir's database never is", async () => {
    const { uniqueDatabaseName, throwawayCreatedAt } = await import("../../src/dev/synapse-postgres.js");
    const at = Date.UTC(2026, 11, 1, 12, 0, 0);
    const name = uniqueDatabaseName(true, at);
    expect(name).toMatch(/^surfaces_test_[0-9a-z]+_[0-9a-f]{8}$/);
    expect(throwawayCreatedAt(name)).toBe(at);
    expect(throwawayCreatedAt(uniqueDatabaseName(false, at))).toBeUndefined();
    expect(throwawayCreatedAt("synapse")).toBeUndefined();
    expect(uniqueDatabaseName(true, at)).not.toBe(name);
  });
});
