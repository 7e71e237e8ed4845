/**
 * What a file is, for the Matrix message type: MIME from magic bytes
 * (file-type), else the agent's hint, else the extension (mime-types);
 * image dimensions from the header (image-size); audio/video duration when
 * the header states it (music-metadata, no full scan). Only the first bytes
 * are read, so memory stays small whatever the file's size.
 */
import type { promises as fsp } from "node:fs";
import { fileTypeFromBuffer } from "file-type";
import { imageSize } from "image-size";
import { lookup } from "mime-types";
import { parseFile } from "music-metadata";

/** Enough for file-type (4100 B) and for image-size on JPEGs with large EXIF blocks. */
const HEAD_BYTES = 512 * 1024;

export type MediaKind = "image" | "audio" | "video" | "file";

export interface Sniffed {
  mime: string;
  kind: MediaKind;
  width?: number;
  height?: number;
  /** Audio/video length in ms, when the header holds it. */
  durationMs?: number;
}

export async function readHead(handle: fsp.FileHandle, size: number): Promise<Uint8Array> {
  const buf = Buffer.alloc(Math.min(size, HEAD_BYTES));
  const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
  return buf.subarray(0, bytesRead);
}

/**
 * `probePath` lets music-metadata read an audio/video header with random
 * access (a path to the already opened, already checked file, e.g.
 * /proc/self/fd/N); without it no duration is given.
 */
export async function sniff(head: Uint8Array, name: string, hintMime?: string, probePath?: string): Promise<Sniffed> {
  const magic = await fileTypeFromBuffer(head).catch(() => undefined);
  const mime = magic?.mime ?? validMime(hintMime) ?? (lookup(name) || undefined) ?? "application/octet-stream";
  const family = mime.split("/")[0];
  if (family === "image") {
    try {
      const dim = imageSize(head);
      if (dim.width && dim.height) return { mime, kind: "image", width: dim.width, height: dim.height };
    } catch {
      // Not an image format image-size knows (or a truncated header): send it as a plain file.
    }
    return { mime, kind: "file" };
  }
  if (family === "audio" || family === "video") {
    const durationMs = probePath === undefined ? undefined : await headerDuration(probePath);
    return durationMs === undefined ? { mime, kind: family } : { mime, kind: family, durationMs };
  }
  return { mime, kind: "file" };
}

function validMime(s: string | undefined): string | undefined {
  return s !== undefined && /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.test(s) ? s.toLowerCase() : undefined;
}

/** Duration from the container header only (no scan of the whole file); undefined when it is not there. */
async function headerDuration(probePath: string): Promise<number | undefined> {
  try {
    const meta = await parseFile(probePath, { duration: false, skipCovers: true });
    const seconds = meta.format.duration;
    return seconds !== undefined && Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : undefined;
  } catch {
    return undefined; // an unknown or damaged header: send without a duration
  }
}
