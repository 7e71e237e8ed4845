import pino, { type Logger } from "pino";

/**
 * Paths pino blanks wherever they appear, so a token that slips into a log
 * object (a config dump, an SDK error with request options) never lands in
 * the output.
 */
export const REDACT_PATHS = [
  "accessToken",
  "access_token",
  "password",
  "token",
  "recoveryKey",
  "*.accessToken",
  "*.access_token",
  "*.password",
  "*.recoveryKey",
  "*.token",
  "headers.authorization",
  "headers.Authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: "surfaces" }, redact: { paths: REDACT_PATHS, censor: "[redacted]" } },
    destination,
  );
}

/**
 * A person at a terminal reads lines; anything else (a pipe, a file, a log
 * collector, production) gets pino's JSON, one object a line.
 */
export function wantsReadableLogs(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && env["NODE_ENV"] !== "production";
}

/**
 * pino-pretty as a destination: `12:00:00.123 INFO: ready {"rooms": 3}`.
 * Loaded only when wanted (it is a development dependency). Redaction
 * happens before it, in pino.
 */
export async function readableDestination(
  opts: { destination?: NodeJS.WritableStream; colorize?: boolean } = {},
): Promise<pino.DestinationStream> {
  const { default: pretty } = await import("pino-pretty");
  return pretty({
    colorize: opts.colorize ?? true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname,service",
    singleLine: true,
    sync: true,
    ...(opts.destination ? { destination: opts.destination } : {}),
  });
}
