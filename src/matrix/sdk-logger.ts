import loglevel from "loglevel";
import type { Level, Logger as PinoLogger } from "pino";
import type { Logger as SdkLogger } from "matrix-js-sdk/lib/logger.js";

/**
 * matrix-js-sdk's own loggers are loud and global; route its output through
 * pino at debug level (warnings and errors keep their level).
 */
export function sdkLogger(pino: PinoLogger, namespace = "matrix-js-sdk"): SdkLogger {
  const log = pino.child({ component: namespace });
  return {
    trace: writer(log, "trace"),
    debug: writer(log, "debug"),
    info: writer(log, "debug"),
    warn: writer(log, "debug"),
    error: writer(log, "warn"),
    getChild: (ns: string) => sdkLogger(pino, `${namespace}:${ns}`),
  };
}

/**
 * The SDK logs every request and sync step; at the bot's usual level (info)
 * those lines are dropped, so the check comes before joining and
 * stringifying the arguments, not after (that work was a visible share of
 * the bot's CPU per answer).
 */
function writer(log: PinoLogger, level: Level): (...msg: unknown[]) => void {
  return (...msg: unknown[]) => {
    if (log.isLevelEnabled(level)) log[level](msg.map((m) => (typeof m === "string" ? m : safeString(m))).join(" "));
  };
}

function safeString(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * Some SDK modules (sync, MatrixRTC) log through module-level `loglevel`
 * loggers, not the client's, straight to stdout. Point them at pino too:
 * new loggers inherit the method factory, existing ones are rebuilt.
 */
export function routeSdkModuleLogs(pino: PinoLogger): void {
  const log = pino.child({ component: "matrix-js-sdk" });
  const factory: loglevel.MethodFactory = (method) => writer(log, method === "error" ? "warn" : method === "trace" ? "trace" : "debug");
  loglevel.methodFactory = factory;
  for (const l of Object.values(loglevel.getLoggers())) {
    l.methodFactory = factory;
    l.rebuild();
  }
}
