import loglevel from "loglevel";
import type { Logger as PinoLogger } from "pino";
import type { Logger as SdkLogger } from "matrix-js-sdk/lib/logger.js";

/**
 * matrix-js-sdk's own loggers are loud and global; route its output through
 * pino at debug level (warnings and errors keep their level).
 */
export function sdkLogger(pino: PinoLogger, namespace = "matrix-js-sdk"): SdkLogger {
  const log = pino.child({ component: namespace });
  const join = (msg: unknown[]): string => msg.map((m) => (typeof m === "string" ? m : safeString(m))).join(" ");
  return {
    trace: (...msg: unknown[]) => log.trace(join(msg)),
    debug: (...msg: unknown[]) => log.debug(join(msg)),
    info: (...msg: unknown[]) => log.debug(join(msg)),
    warn: (...msg: unknown[]) => log.debug(join(msg)),
    error: (...msg: unknown[]) => log.warn(join(msg)),
    getChild: (ns: string) => sdkLogger(pino, `${namespace}:${ns}`),
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
  const factory: loglevel.MethodFactory = (method) => {
    const level = method === "error" ? "warn" : method === "trace" ? "trace" : "debug";
    return (...msg: unknown[]) => log[level](msg.map((m) => (typeof m === "string" ? m : safeString(m))).join(" "));
  };
  loglevel.methodFactory = factory;
  for (const l of Object.values(loglevel.getLoggers())) {
    l.methodFactory = factory;
    l.rebuild();
  }
}
