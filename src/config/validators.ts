/**
 * Small zod building blocks shared by the env schema and the YAML registry,
 * so "what is a valid URL / user id" is decided in one place.
 */
import path from "node:path";
import { z } from "zod";

/** Matrix user id: `@localpart:server` (lenient on localpart for historical ids). */
export const MATRIX_USER_ID = /^@[^:\s]+:\S+$/;
export const AGENT_ID = /^[a-z0-9][a-z0-9_-]*$/;
export const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** zod reports a missing value as "expected string, received undefined"; say it plainly. */
const required = (iss: { input?: unknown }): string | undefined =>
  iss.input === undefined ? "is required" : undefined;

export const requiredString = () => z.string({ error: required });

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
  } catch {
    return false;
  }
}

export const httpUrl = (example: string) =>
  requiredString().refine(isHttpUrl, {
    message: `must be an http:// or https:// URL, e.g. ${example}`,
  });

export const matrixUserId = () =>
  requiredString().regex(MATRIX_USER_ID, {
    message: "must be a Matrix user id like @name:example.org",
  });

export const absolutePath = (example: string) =>
  requiredString()
    .refine((s) => path.posix.isAbsolute(s), {
      message: `must be an absolute path, e.g. ${example}`,
    })
    // Trailing slashes and "a/./b" would otherwise make equal paths compare unequal.
    .transform((s) => path.posix.normalize(s).replace(/(.)\/+$/, "$1"));

/** A whole number written in decimal; `min` is 1 for sizes and timeouts, 0 for uid/gid. */
export const wholeNumber = (min: 0 | 1) =>
  z
    .string()
    .regex(/^\d+$/, {
      message: min === 1 ? "must be a positive whole number" : "must be a whole number (0 or more)",
    })
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n) && n >= min, {
      message: min === 1 ? "must be a positive whole number" : "must be a whole number (0 or more)",
    });
