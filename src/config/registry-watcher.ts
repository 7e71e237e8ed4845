/**
 * Hot reload of the registry. Watches the directory rather than the file:
 * editors and config management replace the file (rename over it), which
 * ends a watch on the file itself. An invalid edit is logged and ignored;
 * the last good registry stays in force until the file is fixed.
 */
import { readFileSync, watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { loadRegistry, parseRegistry, RegistryError } from "./registry.js";
import type { Registry } from "./registry.js";

export interface WatchRegistryOptions {
  logger: Pick<Logger, "info" | "warn" | "error">;
  /** Called after a valid change took effect (not for the initial load). */
  onChange?: (registry: Registry) => void;
  debounceMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface RegistryWatch {
  current(): Registry;
  close(): void;
}

/** Loads the registry now (throws RegistryError if it is invalid) and keeps it current. */
export function watchRegistry(file: string, opts: WatchRegistryOptions): RegistryWatch {
  const { logger, onChange, debounceMs = 200, env = process.env } = opts;
  const abs = path.resolve(file);
  const base = path.basename(abs);
  let current = loadRegistry(abs, env);
  let lastText: string | undefined = readFileSync(abs, "utf8");
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let generation = 0;

  const reload = async (): Promise<void> => {
    const gen = ++generation;
    let text: string;
    try {
      text = await readFile(abs, "utf8");
    } catch (err) {
      // Mid-replace the file can be briefly absent; the next event reloads it.
      logger.warn({ path: abs, reason: String(err) }, "registry unreadable; keeping the last good one");
      return;
    }
    // A newer reload started while we read, or we were closed: let it win.
    if (closed || gen !== generation || text === lastText) return;
    lastText = text;
    let next: Registry;
    try {
      next = parseRegistry(text, abs, env);
    } catch (err) {
      const reason = err instanceof RegistryError ? err.message : String(err);
      logger.warn({ path: abs, reason }, "invalid registry edit ignored; keeping the last good one");
      return;
    }
    current = next;
    logger.info({ path: abs, agents: next.agents.size, users: next.users.size }, "registry reloaded");
    onChange?.(next);
  };

  const watcher: FSWatcher = watch(path.dirname(abs), (_event, name) => {
    // Some platforms give no file name; reload then, the text comparison filters no-ops.
    if (name !== null && name !== base) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      reload().catch((err: unknown) => logger.error({ err }, "registry reload failed"));
    }, debounceMs);
  });
  watcher.on("error", (err) => logger.warn({ err, path: abs }, "registry watch error"));

  return {
    current: () => current,
    close: () => {
      closed = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}
