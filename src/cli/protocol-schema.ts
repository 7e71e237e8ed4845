/**
 * `surfaces protocol-schema [--check] [--out FILE]` (npm run protocol-schema):
 * writes the protocol's JSON Schema, or with --check exits 1 when the file
 * differs from what the zod schemas generate.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { PROTOCOL_SCHEMA_PATH, protocolJsonSchemaText } from "../agents/protocol-schema.js";

export function runProtocolSchema(argv: readonly string[], out: NodeJS.WritableStream = process.stdout): number {
  let file: string | undefined = PROTOCOL_SCHEMA_PATH;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--check") check = true;
    else if (argv[i] === "--out") file = argv[++i];
    else file = undefined;
  }
  if (file === undefined) {
    out.write("usage: surfaces protocol-schema [--check] [--out FILE]\n");
    return 2;
  }
  const text = protocolJsonSchemaText();
  if (check) {
    const same = existsSync(file) && readFileSync(file, "utf8") === text;
    out.write(same ? `${file} is up to date\n` : `${file} is stale: run npm run protocol-schema\n`);
    return same ? 0 : 1;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  out.write(`wrote ${file}\n`);
  return 0;
}
