/**
 * The Redis and nginx processes of the worker topology (synapse-workers.ts),
 * each private to one homeserver and started from the distribution's binaries
 * (`redis-server`, `nginx`; override with SURFACES_REDIS_SERVER / SURFACES_NGINX).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as proc from "./synapse-process.js";
import { nginxConf, proxyPaths, WORKERS, type WorkerPorts } from "./synapse-workers.js";

async function started(p: proc.SynapseProcess, what: string, wait: Promise<void>): Promise<proc.SynapseProcess> {
  try {
    await wait;
    return p;
  } catch (err) {
    await proc.killProcess(p);
    throw new Error(`${what} did not start: ${(err as Error).message}\n${p.outputTail()}`, { cause: err });
  }
}

/** A Redis that keeps nothing on disk, on 127.0.0.1:port. */
export function startRedis(dir: string, port: number, timeoutMs: number): Promise<proc.SynapseProcess> {
  const bin = process.env["SURFACES_REDIS_SERVER"] ?? "redis-server";
  const p = proc.spawnChild(
    bin,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    dir,
  );
  return started(p, `${bin} (is it installed? .ci/run installs redis-server)`, proc.waitForPort(port, p, timeoutMs));
}

/** nginx in the foreground, routing the public port to the main process and workers. */
export function startProxy(dir: string, ports: WorkerPorts, timeoutMs: number): Promise<proc.SynapseProcess> {
  // Debian installs it in /usr/sbin, which a non-login PATH may lack.
  const bin = process.env["SURFACES_NGINX"] ?? (existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx");
  const p = proxyPaths(dir);
  mkdirSync(p.temp, { recursive: true });
  const asRoot = typeof process.getuid === "function" && process.getuid() === 0;
  writeFileSync(p.config, nginxConf(dir, ports, WORKERS, asRoot));
  // -e: nginx opens its error log before reading the config; keep it in dir.
  const child = proc.spawnChild(bin, ["-e", p.errorLog, "-p", path.join(dir, ""), "-c", p.config], dir);
  return started(child, `${bin} (is it installed? .ci/run installs nginx)`, proc.waitForPort(ports.proxy, child, timeoutMs));
}
