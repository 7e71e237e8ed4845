/**
 * The Matrix implementation of the core's MediaPort: user files go from the
 * media repository into the agent's inbox, agent files go from the workspace
 * to the media repository and into the room. Bytes stream in both
 * directions; only a file's first bytes are held, for type detection.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Readable, Transform } from "node:stream";
import type { MatrixClient } from "matrix-js-sdk";
import type { Logger } from "pino";
import type { AppConfig } from "../config/env.js";
import type { FileMetrics } from "../observability/metrics.js";
import { lookup } from "mime-types";
import type { Attachment } from "../core/agent-port.js";
import type { FileRefusal, MediaPort, OutgoingFile } from "../core/chat-port.js";
import type { AgentId, ChatId, EventId, RoomId, UserId } from "../core/ids.js";
import type { IncomingFile } from "../core/incoming.js";
import { FileTooLargeError, removeFromInbox, writeToInbox, type Ownership } from "../files/inbox-writer.js";
import { freeBytes, stillWritten, userUsage, type MediaLedger } from "../files/inbox-budget.js";
import { safeName } from "../files/names.js";
import { readHead, sniff, type Sniffed } from "../files/sniff.js";
import { openWorkspaceFile } from "../files/workspace-file.js";
import { AttachmentIntegrityError, decryptStream, newFileEncryption, type EncryptedFile } from "./attachment-crypto.js";
import { MediaHttp, MediaHttpError } from "./media-http.js";
import type { MatrixSender } from "./sender.js";

export interface MatrixMediaPortDeps {
  http: MediaHttp;
  sender: MatrixSender;
  logger: Logger;
  /** The agent's workspace on this side (registry `workspace_path`), or undefined when unknown. */
  workspaceOf(agentId: AgentId): string | undefined;
  agentsRoot: string;
  ownership: Ownership;
  /** SURFACES_MAX_FILE_BYTES; unset = the homeserver's upload limit. */
  maxFileBytes?: number;
  /** Counts each file moved (metrics). */
  metrics?: FileMetrics;
  /** What the bot wrote for whom (the store's media ledger): one copy per chat, the user quota. */
  ledger?: MediaLedger;
  /** SURFACES_USER_QUOTA_BYTES; 0 or unset = no quota. */
  userQuotaBytes?: number;
  /** SURFACES_MIN_FREE_BYTES; 0 or unset = no free-space check. */
  minFreeBytes?: number;
  /** Free bytes on the volume holding a directory; statfs unless a test needs a full disk. */
  freeBytes?: (dir: string) => Promise<number>;
}

type FetchResult = Awaited<ReturnType<MediaPort["fetchToWorkspace"]>>;
type SendResult = Awaited<ReturnType<MediaPort["sendFile"]>>;

const UPLOAD_ATTEMPTS = 3;

export class MatrixMediaPort implements MediaPort {
  constructor(private readonly deps: MatrixMediaPortDeps) {}

  /** The limit both directions obey: the operator's, never above what the homeserver takes. */
  async limitBytes(): Promise<number> {
    const server = await this.deps.http.serverUploadLimit();
    return this.deps.maxFileBytes ?? server;
  }

  async fetchToWorkspace(agentId: AgentId, chatId: ChatId, files: readonly IncomingFile[], userId: UserId): Promise<FetchResult> {
    const log = this.deps.logger.child({ agent_id: agentId, chat_id: chatId });
    const workspacePath = this.deps.workspaceOf(agentId);
    const { ledger } = this.deps;
    const written: Attachment[] = [];
    const fresh: Array<{ absolute: string; source: string }> = [];
    const fail = async (name: string, refusal: FileRefusal): Promise<FetchResult> => {
      // All or none: what this message wrote goes again (what an earlier one wrote stays).
      for (const f of fresh) {
        if (workspacePath) await removeFromInbox(workspacePath, f.absolute).catch(() => undefined);
        ledger?.remove(agentId, chatId, f.source);
      }
      return { ok: false, name, ...refusal };
    };
    if (!workspacePath) {
      log.warn("agent has no workspace in the registry; files not delivered");
      return fail(files[0]?.name ?? "file", { reason: "failed" });
    }
    const limit = await this.limitBytes();
    const quota = this.deps.userQuotaBytes ?? 0;
    const floor = this.deps.minFreeBytes ?? 0;
    for (const file of files) {
      const mime = file.mime ?? (lookup(file.name) || "application/octet-stream");
      let capReason: "too_large" | "quota" | "disk_full" = "too_large";
      try {
        // The same media again in this chat: the agent already has it; say where.
        const known = ledger?.find(agentId, chatId, file.source);
        if (known && (await stillWritten(known))) {
          written.push({ path: known.relative, name: file.name, mime, size: known.size });
          log.info({ path: known.relative, size: known.size }, "same media already in this chat's inbox; not copied again");
          continue;
        }
        if (known) ledger?.remove(agentId, chatId, file.source);
        if (file.size !== undefined && file.size > limit) {
          log.info({ name: file.name, size: file.size, limit }, "user file over the limit; refused before download");
          return fail(file.name, { reason: "too_large", limitBytes: limit });
        }
        // Quota left for this user (0 = none); the download is cut off when it runs past it.
        const room = quota > 0 && ledger ? quota - (await userUsage(ledger, userId)) : Infinity;
        if (room <= 0 || (file.size !== undefined && file.size > room)) {
          log.info({ name: file.name, size: file.size, quota, user_id: userId }, "user file over the user's quota; refused");
          return fail(file.name, { reason: "quota", limitBytes: quota });
        }
        // Bytes that may be written before the volume drops below the floor.
        const headroom = floor > 0 ? (await (this.deps.freeBytes ?? freeBytes)(workspacePath)) - floor : Infinity;
        if (headroom <= 0 || (file.size ?? 0) > headroom) {
          log.warn({ name: file.name, size: file.size, headroom, floor }, "agents volume is low on space; user file refused");
          return fail(file.name, { reason: "disk_full" });
        }
        const { body, length } = await this.deps.http.download(file.source);
        if (length !== null && length > limit) {
          body.destroy();
          log.info({ name: file.name, size: length, limit }, "user file over the limit; refused");
          return fail(file.name, { reason: "too_large", limitBytes: limit });
        }
        if (length !== null && length > room) {
          body.destroy();
          log.info({ name: file.name, size: length, quota, user_id: userId }, "user file over the user's quota; refused");
          return fail(file.name, { reason: "quota", limitBytes: quota });
        }
        if (length !== null && length > headroom) {
          body.destroy();
          log.warn({ name: file.name, size: length, headroom, floor }, "agents volume is low on space; user file refused");
          return fail(file.name, { reason: "disk_full" });
        }
        // The stream is cut at the lowest of the three caps; which one it was decides the notice.
        const cap = Math.min(limit, room, headroom);
        capReason = cap === limit ? "too_large" : cap === room ? "quota" : "disk_full";
        const keys = file.encryption;
        const target = { workspacePath, chatId, name: file.name, maxBytes: cap, ...(keys && { decode: () => decryptStream(keys) }) };
        const out = await writeToInbox(body, target, this.deps.ownership);
        fresh.push({ absolute: out.absolute, source: file.source });
        ledger?.record({
          agentId,
          chatId,
          source: file.source,
          userId,
          path: out.absolute,
          relative: out.relative,
          size: out.size,
          ino: out.ino,
          writtenAt: Date.now(),
        });
        written.push({ path: out.relative, name: file.name, mime, size: out.size });
        log.info({ path: out.relative, size: out.size }, "user file written to the inbox");
        this.deps.metrics?.fileRelayed("inbound", out.size);
      } catch (err) {
        if (err instanceof FileTooLargeError) {
          log.info({ name: file.name, limit: err.limitBytes, cap: capReason }, "user file over a limit while streaming; refused");
          if (capReason === "quota") return fail(file.name, { reason: "quota", limitBytes: quota });
          if (capReason === "disk_full") return fail(file.name, { reason: "disk_full" });
          return fail(file.name, { reason: "too_large", limitBytes: limit });
        }
        if (err instanceof AttachmentIntegrityError) log.warn({ name: file.name }, "encrypted user file failed its hash check; not delivered");
        else log.error({ err, name: file.name }, "could not fetch the user's file");
        return fail(file.name, { reason: "failed" });
      }
    }
    return { ok: true, attachments: written };
  }

  async sendFile(roomId: RoomId, agentId: AgentId, file: OutgoingFile, key: string): Promise<SendResult> {
    const log = this.deps.logger.child({ agent_id: agentId, room_id: roomId, path: file.path.slice(0, 300) });
    const workspacePath = this.deps.workspaceOf(agentId);
    if (!workspacePath) {
      log.warn("agent has no workspace in the registry; file not sent");
      return { ok: false, reason: "failed" };
    }
    const limit = Math.min(await this.limitBytes(), await this.deps.http.serverUploadLimit());
    let opened;
    try {
      opened = await openWorkspaceFile(file.path, { workspacePath, agentsRoot: this.deps.agentsRoot }, limit);
    } catch (err) {
      log.error({ err }, "could not open the agent's file");
      return { ok: false, reason: "failed" };
    }
    if (!opened.ok) {
      const level = opened.reason === "outside" || opened.reason === "too_long" || opened.reason === "invalid" ? "warn" : "info";
      log[level]({ reason: opened.reason }, "agent's file refused");
      return opened.reason === "too_large" ? { ok: false, reason: "too_large", limitBytes: limit } : { ok: false, reason: opened.reason };
    }
    const { handle, size, realPath } = opened.file;
    try {
      const name = safeName(file.name ?? path.basename(realPath));
      const sniffed = await sniff(await readHead(handle, size), name, file.mime, fdPath(handle.fd));
      // In an encrypted room the homeserver gets only ciphertext: no type, no name.
      const encryption = (await this.deps.sender.isEncrypted(roomId)) ? newFileEncryption() : null;
      const read = (): Readable => handle.createReadStream({ start: 0, end: size - 1, autoClose: false, highWaterMark: UPLOAD_CHUNK_BYTES });
      const mxc = encryption
        ? await this.uploadWithRetry(() => through(read(), encryption.stream()), size, "application/octet-stream", "", log)
        : await this.uploadWithRetry(read, size, sniffed.mime, name, log);
      const content = fileContent(encryption ? encryption.file(mxc) : mxc, name, size, sniffed, file.caption);
      const eventId: EventId = await this.deps.sender.send(roomId, "m.room.message", content, key);
      log.info({ size, mime: sniffed.mime, kind: sniffed.kind, encrypted: encryption !== null }, "agent's file sent");
      this.deps.metrics?.fileRelayed("outbound", size);
      return { ok: true, eventId };
    } catch (err) {
      log.error({ err }, "could not send the agent's file");
      return { ok: false, reason: "failed" };
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  private async uploadWithRetry(
    stream: () => Readable,
    size: number,
    mime: string,
    name: string,
    log: Logger,
  ): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.deps.http.upload(stream(), size, mime, name);
      } catch (err) {
        const retryable = err instanceof MediaHttpError ? err.status === 429 || err.status >= 500 : err instanceof TypeError;
        if (!retryable || attempt >= UPLOAD_ATTEMPTS) throw err;
        log.debug({ err, attempt }, "upload failed; retrying");
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      }
    }
  }
}

/**
 * Matrix 1.10 content: `filename` always, `body` the caption when there is
 * one; an encrypted upload is named by `file` instead of `url`.
 */
export function fileContent(media: string | EncryptedFile, name: string, size: number, s: Sniffed, caption?: string): Record<string, unknown> {
  const info: Record<string, unknown> = { mimetype: s.mime, size };
  if (s.width !== undefined && s.height !== undefined) Object.assign(info, { w: s.width, h: s.height });
  if (s.durationMs !== undefined) info["duration"] = s.durationMs;
  const where = typeof media === "string" ? { url: media } : { file: media };
  return { msgtype: `m.${s.kind}`, body: caption?.trim() ? caption : name, filename: name, ...where, info };
}

/** `source` through `transform`, a failure of either failing the result (unlike a bare pipe). */
function through(source: Readable, transform: Transform): Transform {
  source.once("error", (err) => transform.destroy(err));
  transform.once("close", () => source.destroy());
  return source.pipe(transform);
}

/** Wires the media port from the bot's configuration (app.ts). */
export function createMediaPort(
  config: Pick<AppConfig, "homeserverUrl" | "agentsRoot" | "fileMode" | "fileUid" | "fileGid" | "maxFileBytes" | "minFreeBytes" | "userQuotaBytes">,
  client: MatrixClient,
  sender: MatrixSender,
  workspaceOf: (agentId: AgentId) => string | undefined,
  logger: Logger,
  metrics?: FileMetrics,
  ledger?: MediaLedger,
): MatrixMediaPort {
  const log = logger.child({ component: "media" });
  return new MatrixMediaPort({
    http: new MediaHttp({ homeserverUrl: config.homeserverUrl, accessToken: () => client.getAccessToken(), logger: log }),
    sender,
    logger: log,
    workspaceOf,
    agentsRoot: config.agentsRoot,
    ownership: {
      fileMode: config.fileMode,
      ...(config.fileUid !== undefined && { uid: config.fileUid }),
      ...(config.fileGid !== undefined && { gid: config.fileGid }),
    },
    ...(config.maxFileBytes !== undefined && { maxFileBytes: config.maxFileBytes }),
    ...(metrics && { metrics }),
    ...(ledger && { ledger }),
    userQuotaBytes: config.userQuotaBytes,
    minFreeBytes: config.minFreeBytes,
  });
}

/** Bigger reads than the 64 KiB default: fewer syscalls and socket writes per upload, memory still flat. */
const UPLOAD_CHUNK_BYTES = 1024 * 1024;

/** The open file again by its descriptor (Linux), so a header probe reads exactly the checked file. */
function fdPath(fd: number): string | undefined {
  const p = `/proc/self/fd/${fd}`;
  return existsSync(p) ? p : undefined;
}
