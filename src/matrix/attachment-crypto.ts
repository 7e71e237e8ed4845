/**
 * Encrypted attachments (Matrix spec, "Sending encrypted attachments"):
 * AES-256-CTR over the file, SHA-256 over the ciphertext, key and IV in the
 * (itself encrypted) event's `file` object. Both directions stream.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { Transform } from "node:stream";

/** The `file` object of an encrypted attachment's content (EncryptedFile). */
export interface EncryptedFile {
  url: string;
  key: { kty: "oct"; key_ops: string[]; alg: "A256CTR"; k: string; ext: true };
  iv: string;
  hashes: { sha256: string };
  v: "v2";
}

/** Key, IV and expected hash of an incoming encrypted file. */
export interface FileKeys {
  key: string;
  iv: string;
  sha256: string;
}

export class AttachmentIntegrityError extends Error {
  override readonly name = "AttachmentIntegrityError";
}

const unpadded = (b: Buffer): string => b.toString("base64").replace(/=+$/, "");
const fromBase64 = (s: string): Buffer => Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");

/** The keys of an EncryptedFile object, or null when it is not one this bot can decrypt. */
export function fileKeysOf(file: unknown): { url: string; keys: FileKeys } | null {
  if (typeof file !== "object" || file === null) return null;
  const f = file as Partial<Record<string, unknown>>;
  const key = f["key"] as Partial<EncryptedFile["key"]> | undefined;
  const hashes = f["hashes"] as { sha256?: unknown } | undefined;
  if (typeof f["url"] !== "string" || typeof f["iv"] !== "string" || typeof key?.k !== "string" || typeof hashes?.sha256 !== "string") return null;
  if (key.alg !== undefined && key.alg !== "A256CTR") return null;
  if (fromBase64(key.k).length !== 32 || fromBase64(f["iv"]).length !== 16) return null;
  return { url: f["url"], keys: { key: key.k, iv: f["iv"], sha256: hashes.sha256 } };
}

/**
 * Decrypts a download. The hash covers the ciphertext and is only known at
 * the end, so the stream fails there on a mismatch: the inbox writer then
 * removes its temporary file and the agent never sees the bytes.
 */
export function decryptStream(keys: FileKeys): Transform {
  const decipher = createDecipheriv("aes-256-ctr", fromBase64(keys.key), fromBase64(keys.iv));
  const hash = createHash("sha256");
  const expected = fromBase64(keys.sha256);
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, decipher.update(chunk));
    },
    flush(done) {
      const actual = hash.digest();
      if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
        done(new AttachmentIntegrityError("encrypted attachment failed its SHA-256 check"));
        return;
      }
      done(null, decipher.final());
    },
  });
}

/**
 * A fresh key and IV for one outgoing file. `stream()` may be called again
 * for a retried upload; `file(url)` describes the last stream that ended.
 */
export function newFileEncryption(): { stream(): Transform; file(url: string): EncryptedFile } {
  const key = randomBytes(32);
  // The low 64 bits are the block counter and start at zero, as the spec asks.
  const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
  let digest: Buffer | null = null;
  return {
    stream() {
      const cipher = createCipheriv("aes-256-ctr", key, iv);
      const hash = createHash("sha256");
      digest = null;
      return new Transform({
        transform(chunk: Buffer, _enc, done) {
          const out = cipher.update(chunk);
          hash.update(out);
          done(null, out);
        },
        flush(done) {
          const rest = cipher.final();
          hash.update(rest);
          digest = hash.digest();
          done(null, rest);
        },
      });
    },
    file(url) {
      if (!digest) throw new Error("the encrypted upload did not finish");
      return {
        url,
        key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: key.toString("base64url"), ext: true },
        iv: unpadded(iv),
        hashes: { sha256: unpadded(digest) },
        v: "v2",
      };
    },
  };
}
