/**
 * `surfaces reset --mode local-only|server-leave-forget [--dry-run]`
 *   local-only           empties the bot's SQLite cache (rebuilt from room state at the next start)
 *   server-leave-forget  the bot leaves and forgets every room it is in, then empties the cache
 * Prints exactly what it did (or, with --dry-run, would do) and what users must still do.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, loadDotenv } from "../config/env.js";
import { createLogger } from "../logger.js";
import { resolveSession, SESSION_KEYS } from "../matrix/session.js";
import { storeDeviceId } from "../matrix/crypto-store.js";
import { openStore } from "../store/index.js";

type Mode = "local-only" | "server-leave-forget";

export async function runReset(argv: string[], env: NodeJS.ProcessEnv = process.env, out = process.stdout): Promise<number> {
  const modeArg = argv.find((a) => a.startsWith("--mode"))?.split("=")[1] ?? argv[argv.indexOf("--mode") + 1];
  const dryRun = argv.includes("--dry-run");
  if (modeArg !== "local-only" && modeArg !== "server-leave-forget") {
    out.write("usage: surfaces reset --mode local-only|server-leave-forget [--dry-run]\n");
    return 2;
  }
  const mode: Mode = modeArg;
  loadDotenv();
  const config = loadConfig(env);
  const say = (line: string): void => void out.write(`${dryRun ? "[dry-run] would " : ""}${line}\n`);
  const dbPath = join(config.dataDir, "surfaces.db");

  if (mode === "server-leave-forget") {
    const store = existsSync(dbPath) ? openStore(dbPath) : undefined;
    const kv = { get: (k: string) => store?.kv.get(k), set: (k: string, v: string) => store?.kv.set(k, v), delete: (k: string) => store?.kv.delete(k) };
    const session = await resolveSession({ ...config, userId: config.botUserId, storeDeviceId: storeDeviceId(config.dataDir, config.botUserId) }, kv, createLogger("warn"));
    store?.close();
    const api = async (method: string, path: string): Promise<unknown> => {
      const res = await fetch(new URL(`/_matrix/client/v3${path}`, config.homeserverUrl), {
        method,
        headers: { Authorization: `Bearer ${session.accessToken}`, "Content-Type": "application/json" },
        ...(method === "POST" ? { body: "{}" } : {}),
      });
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
      return res.json();
    };
    const { joined_rooms: rooms } = (await api("GET", "/joined_rooms")) as { joined_rooms: string[] };
    for (const roomId of rooms) {
      say(`leave and forget ${roomId}`);
      if (!dryRun) {
        await api("POST", `/rooms/${encodeURIComponent(roomId)}/leave`);
        await api("POST", `/rooms/${encodeURIComponent(roomId)}/forget`);
      }
    }
    out.write(`${rooms.length} room(s) ${dryRun ? "would be" : "were"} left and forgotten by ${config.botUserId}.\n`);
  }

  if (existsSync(dbPath)) {
    say(`empty the local state in ${dbPath} (users, rooms, saved contexts, pending, sync position, ledger)`);
    if (!dryRun) {
      const store = openStore(dbPath);
      // Keep the login: the device id keeps transaction ids meaningful.
      const device = store.kv.get(SESSION_KEYS.deviceId);
      const token = store.kv.get(SESSION_KEYS.accessToken);
      store.resetLocalState();
      if (device) store.kv.set(SESSION_KEYS.deviceId, device);
      if (token) store.kv.set(SESSION_KEYS.accessToken, token);
      store.close();
    }
  } else {
    out.write(`no local state at ${dbPath}; nothing to empty.\n`);
  }

  out.write(
    mode === "local-only"
      ? "Users need do nothing: at the next start the bot rebuilds its rooms from their state events.\n"
      : "Users still hold the old Spaces and rooms: each user should leave them in their client (Element: right-click › Leave) and invite the bot again for a fresh Space.\n",
  );
  return 0;
}
