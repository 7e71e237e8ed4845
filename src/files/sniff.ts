/**
 * What a file is, for the Matrix message type: MIME from magic bytes
 * (file-type), else the agent's hint, else the extension (mime-types);
 * image dimensions from the header (image-size). Only the first bytes are
 * read, so memory stays small whatever the file's size.
 */
import type { promises as fsp } from "node:fs";
import { fileTypeFromBuffer } from "file-type";
import { imageSize } from "image-size";
import { lookup } from "mime-types";

/** Enough for file-type (4100 B) and for image-size on JPEGs with large EXIF blocks. */
const HEAD_BYTES = 512 * 1024;

export type MediaKind = "image" | "audio" | "video" | "file";

export interface Sniffed {
  mime: string;
  kind: MediaKind;
  width?: number;
  height?: number;
}

export async function readHead(handle: fsp.FileHandle, size: number): Promise<Uint8Array> {
  const buf = Buffer.alloc(Math.min(size, HEAD_BYTES));
  const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
  return buf.subarray(0, bytesRead);
}

export async function sniff(head: Uint8Array, name: string, hintMime?: string): Promise<Sniffed> {
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
  if (family === "audio" || family === "video") return { mime, kind: family };
  return { mime, kind: "file" };
}

function validMime(s: string | undefined): string | undefined {
  return s !== undefined && /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.test(s) ? s.toLowerCase() : undefined;
}
