/**
 * An agent's file that changes or disappears while the bot uploads it: the
 * real MatrixMediaPort and MediaHttp against a local HTTP "media repository"
 * that pauses after the first bytes so the test can touch the file. Deleted
 * or replaced: the bytes of the file as it was opened arrive, whole. Cut
 * short: the upload fails and the user is told (a `failed` refusal), never a
 * file whose bytes do not match what was announced.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, renameSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asAgentId, asEventId, asRoomId } from "../../src/core/ids.js";
import { MediaHttp } from "../../src/matrix/media-http.js";
import { MatrixMediaPort } from "../../src/matrix/media-port.js";
import type { MatrixSender } from "../../src/matrix/sender.js";
import { silent } from "./agent-harness.js";

const SIZE = 24 * 1024 * 1024;
const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

describe("a file that changes while it is sent", () => {
  let server: Server;
  let baseUrl: string;
  /** Runs once the first bytes of the next upload arrived; the upload waits for it. */
  let onFirstBytes: () => void = () => undefined;
  const uploads: Array<{ declared: number; received: Buffer; complete: boolean }> = [];
  const sent: Array<Record<string, unknown>> = [];
  const workspace = mkdtempSync(join(tmpdir(), "surfaces-while-sent-"));

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      if (req.url?.startsWith("/_matrix/client/v1/media/config")) {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ "m.upload.size": 100 * 1024 * 1024 }));
        return;
      }
      const chunks: Buffer[] = [];
      const upload = { declared: Number(req.headers["content-length"]), received: Buffer.alloc(0), complete: false };
      uploads.push(upload);
      let first = true;
      req.on("data", (c: Buffer) => {
        chunks.push(c);
        if (!first) return;
        first = false;
        req.pause();
        onFirstBytes();
        onFirstBytes = () => undefined;
        setTimeout(() => req.resume(), 50);
      });
      req.on("end", () => {
        upload.received = Buffer.concat(chunks);
        upload.complete = true;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ content_uri: `mxc://localhost/u${uploads.length}` }));
      });
      req.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const port = (): MatrixMediaPort =>
    new MatrixMediaPort({
      http: new MediaHttp({ homeserverUrl: baseUrl, accessToken: () => "token", logger: silent }),
      sender: {
        send: async (_room: string, _type: string, content: Record<string, unknown>) => {
          sent.push(content);
          return asEventId(`$f${sent.length}`);
        },
        isEncrypted: async () => false,
      } as unknown as MatrixSender,
      logger: silent,
      workspaceOf: () => workspace,
      agentsRoot: "/agents",
      ownership: { fileMode: 0o644 },
    });

  async function sendWhile(name: string, touch: (file: string) => void) {
    const bytes = randomBytes(SIZE);
    const file = join(workspace, name);
    writeFileSync(file, bytes);
    onFirstBytes = () => touch(file);
    const result = await port().sendFile(asRoomId("!r:localhost"), asAgentId("a"), { path: name }, `k.${name}`);
    return { result, original: bytes };
  }

  it("deleted while being sent: the whole original arrives, as announced", async () => {
    const before = sent.length;
    const { result, original } = await sendWhile("gone.bin", (f) => unlinkSync(f));
    expect(result.ok).toBe(true);
    const upload = uploads.at(-1)!;
    expect(upload.received.length).toBe(SIZE);
    expect(sha(upload.received)).toBe(sha(original));
    expect((sent[before] as { info: { size: number } }).info.size).toBe(SIZE);
  });

  it("replaced while being sent: the file as opened arrives, not a mix", async () => {
    const { result, original } = await sendWhile("swapped.bin", (f) => {
      writeFileSync(`${f}.new`, randomBytes(SIZE));
      renameSync(`${f}.new`, f);
    });
    expect(result.ok).toBe(true);
    expect(sha(uploads.at(-1)!.received)).toBe(sha(original));
  });

  it("cut short while being sent: no file is posted, the send fails (the user gets a notice)", async () => {
    const before = sent.length;
    const { result } = await sendWhile("cut.bin", (f) => truncateSync(f, 1024 * 1024));
    expect(result).toEqual({ ok: false, reason: "failed" });
    expect(sent.length).toBe(before);
    for (const u of uploads.slice(-1)) expect(u.complete && u.received.length !== u.declared).toBe(false);
  }, 30_000);
});
