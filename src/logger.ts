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
