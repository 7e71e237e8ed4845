/**
 * Numbered migrations, kept as TS modules (not .sql files) so they compile
 * into dist/ with everything else and need no copy step. Append only: never
 * edit a migration that has shipped; add the next number instead.
 */
import { init } from "./001-init.js";
import { media } from "./002-media.js";
import { dropUnused } from "./003-drop-unused.js";
import { elementUx } from "./004-element-ux.js";
import { forgottenSession } from "./005-forgotten-session.js";

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [init, media, dropUnused, elementUx, forgottenSession];
