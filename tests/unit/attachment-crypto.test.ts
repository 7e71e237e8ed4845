/**
 * Encrypted attachments: what the bot uploads decrypts with plain AES-CTR
 * and matches its announced hash; what it downloads is refused on a hash
 * mismatch; malformed key material is not taken for an encrypted file.
 */
import { createDecipheriv, createHash, randomBytes } from "node:crypto";
import { Readable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { AttachmentIntegrityError, decryptStream, fileKeysOf, newFileEncryption } from "../../src/matrix/attachment-crypto.js";

async function collect(source: Readable, transform: Transform): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(source, transform, async (src: AsyncIterable<Buffer>) => {
    for await (const p of src) parts.push(p);
  });
  return Buffer.concat(parts);
}

/** A source that yields `bytes` in uneven chunks, as a socket would. */
const chunked = (bytes: Buffer): Readable => Readable.from([bytes.subarray(0, 7), bytes.subarray(7, 70_001), bytes.subarray(70_001)]);

describe("encrypted attachments", () => {
  it("encrypts per the spec: AES-256-CTR, counter half of the IV zero, SHA-256 of the ciphertext", async () => {
    const plain = randomBytes(200_000);
    const enc = newFileEncryption();
    const cipher = await collect(chunked(plain), enc.stream());
    const file = enc.file("mxc://example.org/abc");
    expect(cipher.length).toBe(plain.length);
    expect(cipher.equals(plain)).toBe(false);
    expect(file).toMatchObject({ url: "mxc://example.org/abc", v: "v2", key: { kty: "oct", alg: "A256CTR", ext: true, key_ops: ["encrypt", "decrypt"] } });
    const iv = Buffer.from(file.iv, "base64");
    expect(iv).toHaveLength(16);
    expect(iv.subarray(8).equals(Buffer.alloc(8))).toBe(true);
    expect(file.iv).not.toContain("=");
    expect(file.hashes.sha256).toBe(createHash("sha256").update(cipher).digest("base64").replace(/=+$/, ""));
    const decipher = createDecipheriv("aes-256-ctr", Buffer.from(file.key.k, "base64url"), iv);
    expect(Buffer.concat([decipher.update(cipher), decipher.final()]).equals(plain)).toBe(true);
  });

  it("a retried upload encrypts the same way again (same key and IV, same hash)", async () => {
    const plain = randomBytes(5_000);
    const enc = newFileEncryption();
    const first = await collect(Readable.from([plain]), enc.stream());
    const hash1 = enc.file("mxc://x/y").hashes.sha256;
    const second = await collect(Readable.from([plain]), enc.stream());
    expect(second.equals(first)).toBe(true);
    expect(enc.file("mxc://x/y").hashes.sha256).toBe(hash1);
  });

  it("decrypts what was encrypted, through its announced keys", async () => {
    const plain = randomBytes(100_000);
    const enc = newFileEncryption();
    const cipher = await collect(Readable.from([plain]), enc.stream());
    const parsed = fileKeysOf(enc.file("mxc://example.org/abc"));
    expect(parsed?.url).toBe("mxc://example.org/abc");
    expect((await collect(chunked(cipher), decryptStream(parsed!.keys))).equals(plain)).toBe(true);
  });

  it("fails the stream when one ciphertext byte was changed", async () => {
    const enc = newFileEncryption();
    const cipher = await collect(Readable.from([randomBytes(10_000)]), enc.stream());
    const keys = fileKeysOf(enc.file("mxc://example.org/abc"))!.keys;
    cipher[1234] = cipher[1234]! ^ 1;
    await expect(collect(chunked(cipher), decryptStream(keys))).rejects.toBeInstanceOf(AttachmentIntegrityError);
  });

  it("does not take malformed key material for an encrypted file", async () => {
    const enc = newFileEncryption();
    await collect(Readable.from([Buffer.from("x")]), enc.stream());
    const file = enc.file("mxc://example.org/abc");
    expect(fileKeysOf(file)).not.toBeNull();
    expect(fileKeysOf({ ...file, key: { ...file.key, alg: "A128CTR" } })).toBeNull();
    expect(fileKeysOf({ ...file, key: { ...file.key, k: "c2hvcnQ" } })).toBeNull();
    expect(fileKeysOf({ ...file, iv: "c2hvcnQ" })).toBeNull();
    expect(fileKeysOf({ ...file, hashes: {} })).toBeNull();
    expect(fileKeysOf("mxc://example.org/abc")).toBeNull();
    expect(fileKeysOf(null)).toBeNull();
  });
});
