/**
 * Files as a user's client handles them: uploaded plain into a plaintext
 * room, or as an encrypted attachment (spec, "Sending encrypted
 * attachments": AES-256-CTR, SHA-256 over the ciphertext, the keys in the
 * event's `file`) when the user's client encrypts the room; downloads are
 * hash-checked and decrypted. Written apart from the bot's own code
 * (src/matrix/attachment-crypto.ts) so the two check each other.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { sendsEncrypted } from "./room-messages.js";

const b64 = (b: Buffer): string => b.toString("base64").replace(/=+$/, "");
const unb64 = (s: string): Buffer => Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");

/** The media fields of a file message: `url`, or `file` for an encrypted attachment. */
export type MediaFields = { url: string } | { file: { url: string; key: Record<string, unknown>; iv: string; hashes: { sha256: string }; v: string } };

async function uploadBytes(baseUrl: string, token: string, bytes: Uint8Array, name: string | undefined, mime: string): Promise<string> {
  const query = name === undefined ? "" : `?filename=${encodeURIComponent(name)}`;
  const res = await fetch(new URL(`/_matrix/media/v3/upload${query}`, baseUrl), {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": mime },
    body: bytes,
  });
  if (res.status !== 200) throw new Error(`upload of ${name ?? "an encrypted file"} -> ${res.status} ${await res.text()}`);
  return ((await res.json()) as { content_uri: string }).content_uri;
}

/** Uploads a file for a message in `roomId`, encrypted (as Element does: no name, no type on the server) when the room's messages are. */
export async function uploadFor(baseUrl: string, token: string, roomId: string, bytes: Uint8Array, name: string, mime: string): Promise<MediaFields> {
  if (!(await sendsEncrypted(token, roomId))) return { url: await uploadBytes(baseUrl, token, bytes, name, mime) };
  const key = randomBytes(32);
  const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
  const cipher = createCipheriv("aes-256-ctr", key, iv);
  const ciphertext = Buffer.concat([cipher.update(bytes), cipher.final()]);
  const url = await uploadBytes(baseUrl, token, ciphertext, undefined, "application/octet-stream");
  return {
    file: {
      url,
      key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: key.toString("base64url"), ext: true },
      iv: b64(iv),
      hashes: { sha256: b64(createHash("sha256").update(ciphertext).digest()) },
      v: "v2",
    },
  };
}

/** The mxc URI of a message's media (plain or encrypted), or undefined when it carries none. */
export function mediaUrl(content: Record<string, unknown>): string | undefined {
  if (typeof content["url"] === "string") return content["url"];
  const file = content["file"] as { url?: unknown } | undefined;
  return typeof file?.url === "string" ? file.url : undefined;
}

/** Downloads a message's media as the user; an encrypted attachment is hash-checked and decrypted. */
export async function downloadMedia(baseUrl: string, token: string, content: Record<string, unknown>): Promise<Buffer> {
  const mxc = mediaUrl(content);
  if (!mxc) throw new Error(`no media in ${JSON.stringify(content).slice(0, 200)}`);
  const [server, id] = mxc.slice("mxc://".length).split("/");
  const res = await fetch(new URL(`/_matrix/client/v1/media/download/${server}/${id}`, baseUrl), { headers: { Authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`download of ${mxc} -> ${res.status}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  if (typeof content["url"] === "string") return bytes;
  const file = (content as { file: { key: { k: string }; iv: string; hashes: { sha256: string } } }).file;
  if (b64(createHash("sha256").update(bytes).digest()) !== file.hashes.sha256.replace(/=+$/, "")) throw new Error(`${mxc}: ciphertext does not match its SHA-256`);
  const decipher = createDecipheriv("aes-256-ctr", unb64(file.key.k), unb64(file.iv));
  return Buffer.concat([decipher.update(bytes), decipher.final()]);
}
