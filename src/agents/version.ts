import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/**
 * The project's version from package.json, found by walking up from this file
 * (works from src/ under tsx and from dist/ after a build). "0.0.0" if absent.
 */
export function surfacesVersion(): string {
  if (cached !== undefined) return cached;
  cached = "0.0.0";
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "surfaces" && typeof pkg.version === "string") {
        cached = pkg.version;
        break;
      }
    } catch {
      // no package.json here; keep walking up
    }
    dir = dirname(dir);
  }
  return cached;
}
