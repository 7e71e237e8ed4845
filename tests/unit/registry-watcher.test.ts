/** Hot reload against a real file in a temp directory. */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Registry } from "../../src/config/registry.js";
import { RegistryError } from "../../src/config/registry.js";
import { watchRegistry } from "../../src/config/registry-watcher.js";
import type { RegistryWatch, WatchRegistryOptions } from "../../src/config/registry-watcher.js";
import { asUserId } from "../../src/core/ids.js";

const registry = (agent: string) => `
agents:
  ${agent}: { base_url: "http://${agent}:8080", workspace_path: /agents/${agent} }
user_agents:
  "@alice:example.org": ${agent}
`;
const alice = asUserId("@alice:example.org");

describe("watchRegistry", () => {
  let dir: string;
  let file: string;
  let watch: RegistryWatch | undefined;
  let logger: { info: ReturnType<typeof vi.fn>; warn: ReturnType<typeof vi.fn>; error: ReturnType<typeof vi.fn> };
  let changes: Registry[];

  const start = () => {
    watch = watchRegistry(file, {
      logger: logger as unknown as WatchRegistryOptions["logger"],
      onChange: (r) => changes.push(r),
      debounceMs: 20,
    });
    return watch;
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "surfaces-registry-"));
    file = path.join(dir, "matrix-agents.yaml");
    writeFileSync(file, registry("first"));
    logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    changes = [];
  });

  afterEach(() => {
    watch?.close();
    watch = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the registry loaded at start", () => {
    const w = start();
    expect(w.current().agentsFor(alice)).toEqual(["first"]);
  });

  it("refuses to start on an invalid file", () => {
    writeFileSync(file, "agents: [");
    expect(() => start()).toThrow(RegistryError);
  });

  it("applies a valid edit", async () => {
    const w = start();
    writeFileSync(file, registry("second"));
    await vi.waitFor(() => expect(w.current().agentsFor(alice)).toEqual(["second"]), { timeout: 5000 });
    expect(changes.map((r) => [...r.agents.keys()])).toEqual([["second"]]);
  });

  it("follows a file replaced by rename, as editors do", async () => {
    const w = start();
    const tmp = path.join(dir, ".matrix-agents.yaml.swp");
    writeFileSync(tmp, registry("renamed"));
    renameSync(tmp, file);
    await vi.waitFor(() => expect(w.current().agentsFor(alice)).toEqual(["renamed"]), { timeout: 5000 });
  });

  it("keeps the last good registry after an invalid edit and logs why", async () => {
    const w = start();
    writeFileSync(file, registry("first").replace("http://first:8080", "not a url"));
    await vi.waitFor(() => expect(logger.warn).toHaveBeenCalled(), { timeout: 5000 });
    const [fields, msg] = logger.warn.mock.calls[0] as [{ reason: string }, string];
    expect(msg).toMatch(/invalid registry edit/);
    expect(fields.reason).toContain("agents.first.base_url: must be an http:// or https:// URL");
    expect(w.current().agentsFor(alice)).toEqual(["first"]);
    expect(changes).toEqual([]);

    // Fixing the file brings the new version in.
    writeFileSync(file, registry("fixed"));
    await vi.waitFor(() => expect(w.current().agentsFor(alice)).toEqual(["fixed"]), { timeout: 5000 });
  });

  it("stops reloading once closed", async () => {
    const w = start();
    w.close();
    writeFileSync(file, registry("ignored"));
    // Give a would-be reload every chance to happen: another watcher sees the event first.
    const witness = watchRegistry(file, { logger: logger as unknown as WatchRegistryOptions["logger"], debounceMs: 20 });
    writeFileSync(file, registry("ignored2"));
    await vi.waitFor(() => expect(witness.current().agentsFor(alice)).toEqual(["ignored2"]), { timeout: 5000 });
    witness.close();
    expect(w.current().agentsFor(alice)).toEqual(["first"]);
    expect(changes).toEqual([]);
  });
});
