/**
 * The disk limits on user files, with the real MatrixMediaPort, a real SQLite
 * store (the media ledger), real directories and a local HTTP "media
 * repository": the same mxc:// twice in one chat is one file, a user's quota
 * counts what is still on disk, and a volume below the free-space floor
 * takes nothing.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asAgentId, asChatId, asUserId } from "../../src/core/ids.js";
import type { IncomingFile } from "../../src/core/incoming.js";
import { MediaHttp } from "../../src/matrix/media-http.js";
import { MatrixMediaPort } from "../../src/matrix/media-port.js";
import type { MatrixSender } from "../../src/matrix/sender.js";
import { openStore, type Store } from "../../src/store/index.js";
import { silent } from "./agent-harness.js";

const root = mkdtempSync(path.join(tmpdir(), "surfaces-budget-"));
const workspace = path.join(root, "agents", "alice");
const alice = asUserId("@alice:localhost");
const bob = asUserId("@bob:localhost");
const agent = asAgentId("alice");

describe("user files against the disk limits", () => {
  let server: Server;
  let baseUrl: string;
  let store: Store;
  /** Media id → bytes served; `chunked-*` ids are sent without a content-length. */
  const media = new Map<string, Buffer>();
  const downloads: string[] = [];

  beforeAll(async () => {
    mkdirSync(workspace, { recursive: true });
    store = openStore(path.join(root, "surfaces.db"));
    server = createServer((req, res) => {
      if (req.url?.startsWith("/_matrix/client/v1/media/config")) {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ "m.upload.size": 1024 * 1024 }));
        return;
      }
      const id = decodeURIComponent(req.url?.split("/").at(-1) ?? "");
      const body = media.get(id);
      downloads.push(id);
      if (!body) return void res.writeHead(404).end();
      if (id.startsWith("chunked-")) {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.write(body.subarray(0, 1000));
        res.end(body.subarray(1000));
        return;
      }
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(body.length) }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    store.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const port = (opts: { quota?: number; floor?: number; free?: number } = {}): MatrixMediaPort =>
    new MatrixMediaPort({
      http: new MediaHttp({ homeserverUrl: baseUrl, accessToken: () => "token", logger: silent }),
      sender: {} as MatrixSender,
      logger: silent,
      workspaceOf: () => workspace,
      agentsRoot: path.join(root, "agents"),
      ownership: { fileMode: 0o644 },
      ledger: store.media,
      userQuotaBytes: opts.quota ?? 0,
      minFreeBytes: opts.floor ?? 0,
      ...(opts.free !== undefined && { freeBytes: async () => opts.free! }),
    });
  const serve = (id: string, size: number, fill: number): IncomingFile => {
    media.set(id, Buffer.alloc(size, fill));
    return { source: `mxc://localhost/${id}`, name: `${id}.bin`, size };
  };
  const inbox = (chat: string): string[] => {
    try {
      return readdirSync(path.join(workspace, "inbox", chat)).sort();
    } catch {
      return [];
    }
  };

  it("the same mxc:// twice in one chat is written once; the agent is told the same path", async () => {
    const file = serve("same", 3000, 1);
    const first = await port().fetchToWorkspace(agent, asChatId("c_one"), [file], alice);
    const again = await port().fetchToWorkspace(agent, asChatId("c_one"), [{ ...file, name: "renamed.bin" }], alice);
    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.attachments[0]?.path).toBe(first.attachments[0]?.path);
    expect(again.attachments[0]?.size).toBe(3000);
    expect(inbox("c_one")).toHaveLength(1);
    expect(downloads.filter((d) => d === "same")).toHaveLength(1);
    // Another chat gets its own copy: chats' inboxes stay separate.
    const other = await port().fetchToWorkspace(agent, asChatId("c_two"), [file], alice);
    expect(other.ok && other.attachments[0]?.path).toMatch(/^inbox\/c_two\//);
  });

  it("the same mxc:// after the agent deleted its copy is fetched again", async () => {
    const file = serve("deleted", 100, 2);
    const first = await port().fetchToWorkspace(agent, asChatId("c_del"), [file], alice);
    if (!first.ok) throw new Error("first fetch refused");
    unlinkSync(path.join(workspace, first.attachments[0]!.path));
    const again = await port().fetchToWorkspace(agent, asChatId("c_del"), [file], alice);
    expect(again.ok).toBe(true);
    expect(inbox("c_del")).toHaveLength(1);
    expect(readFileSync(path.join(workspace, again.ok ? again.attachments[0]!.path : "")).length).toBe(100);
  });

  it("a user over the quota is refused before the download; files the agent deleted free it again", async () => {
    const used = 3000 + 3000 + 100; // alice's files above, all still on disk
    const quota = used + 5000;
    const ok = await port({ quota }).fetchToWorkspace(agent, asChatId("c_q"), [serve("q1", 4000, 3)], alice);
    expect(ok.ok).toBe(true);
    const before = downloads.length;
    const refused = await port({ quota }).fetchToWorkspace(agent, asChatId("c_q"), [serve("q2", 4000, 4)], alice);
    expect(refused).toEqual({ ok: false, name: "q2.bin", reason: "quota", limitBytes: quota });
    expect(downloads.length).toBe(before);
    expect(inbox("c_q")).toHaveLength(1);
    // Bob's quota is his own.
    const bobs = await port({ quota }).fetchToWorkspace(agent, asChatId("c_bob"), [serve("b1", 4000, 5)], bob);
    expect(bobs.ok).toBe(true);
    // The agent cleans up: alice may send again.
    for (const f of inbox("c_q")) unlinkSync(path.join(workspace, "inbox", "c_q", f));
    const after = await port({ quota }).fetchToWorkspace(agent, asChatId("c_q"), [serve("q2", 4000, 4)], alice);
    expect(after.ok).toBe(true);
  });

  it("a download of unannounced size is cut off at the quota and leaves nothing behind", async () => {
    const quota = 3000 + 3000 + 100 + 4000 + 2000; // 2000 bytes left for alice
    const file = serve("chunked-big", 5000, 6);
    const refused = await port({ quota }).fetchToWorkspace(agent, asChatId("c_chunk"), [{ ...file, size: undefined }], alice);
    expect(refused).toMatchObject({ ok: false, reason: "quota", limitBytes: quota });
    expect(inbox("c_chunk")).toEqual([]);
    expect(store.media.find(agent, "c_chunk", file.source)).toBeUndefined();
  });

  it("a volume with less free space than the floor takes nothing, without a download", async () => {
    const before = downloads.length;
    const refused = await port({ floor: Number.MAX_SAFE_INTEGER }).fetchToWorkspace(agent, asChatId("c_full"), [serve("full", 10, 7)], alice);
    expect(refused).toEqual({ ok: false, name: "full.bin", reason: "disk_full" });
    expect(downloads.length).toBe(before);
    expect(inbox("c_full")).toEqual([]);
  });

  it("near the floor: an announced file that would cross it is not fetched, one of unannounced size is cut off there", async () => {
    const floor = 1_000_000;
    const near = { floor, free: floor + 2000 }; // 2000 bytes of headroom
    const before = downloads.length;
    const announced = await port(near).fetchToWorkspace(agent, asChatId("c_near"), [serve("near", 3000, 8)], alice);
    expect(announced).toEqual({ ok: false, name: "near.bin", reason: "disk_full" });
    expect(downloads.length).toBe(before);
    const file = serve("chunked-near", 5000, 9);
    const cut = await port(near).fetchToWorkspace(agent, asChatId("c_near"), [{ ...file, size: undefined }], alice);
    expect(cut).toEqual({ ok: false, name: "chunked-near.bin", reason: "disk_full" });
    expect(inbox("c_near")).toEqual([]);
    const fits = await port(near).fetchToWorkspace(agent, asChatId("c_near"), [serve("small", 1500, 10)], alice);
    expect(fits.ok).toBe(true);
  });
});
