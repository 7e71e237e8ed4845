/** Versions for the report: node, Synapse (from its venv), matrix-js-sdk and this package. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { defaultSynapsePython } from "../../src/dev/synapse.js";

const require = createRequire(import.meta.url);

const pkgVersion = (file: string): string => (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;

export function versions(): { synapse: string; sdk: string; surfaces: string } {
  let synapse = "unknown";
  try {
    synapse = execFileSync(defaultSynapsePython(), ["-c", "import synapse; print(synapse.__version__)"], { encoding: "utf8" }).trim();
  } catch {
    // left as unknown
  }
  const sdkDir = require.resolve("matrix-js-sdk").replace(/(node_modules\/matrix-js-sdk)\/.*$/, "$1");
  return { synapse, sdk: pkgVersion(`${sdkDir}/package.json`), surfaces: pkgVersion(new URL("../../package.json", import.meta.url).pathname) };
}
