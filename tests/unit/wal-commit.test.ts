import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { syncCommitsOffThread, type ShimDriver } from "../../src/matrix/wal-commit.js";

/** A driver that answers each batch synchronously, as better-sqlite3 runs it; records what it was given. */
function fakeDriver(): ShimDriver & { batches: string[][] } {
  const batches: string[][] = [];
  return {
    batches,
    exec(queries, _readOnly, callback) {
      batches.push(queries.map((q) => q.sql));
      callback(null, queries.map(() => ({})));
    },
  };
}

/** Runs one batch; says whether its callback came back in the same turn (no fsync awaited) or later. */
function run(driver: ShimDriver, sqls: string[], readOnly = false): Promise<"sync" | "later"> {
  return new Promise((resolve) => {
    let returned = false;
    driver.exec(sqls.map((sql) => ({ sql })), readOnly, () => resolve(returned ? "later" : "sync"));
    returned = true;
  });
}

describe("syncCommitsOffThread", () => {
  const log = (): string => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "surfaces-wal-")), "db.sqlite-wal");
    writeFileSync(file, "log");
    return file;
  };
  const failOnError = (err: Error): never => {
    throw err;
  };

  it("answers a commit that wrote only after an fsync of the log", async () => {
    const driver = fakeDriver();
    syncCommitsOffThread(driver, log(), failOnError);
    expect(await run(driver, ["BEGIN;", 'INSERT INTO "s" VALUES (?)'])).toBe("sync");
    expect(await run(driver, ["END;"])).toBe("later");
    expect(await run(driver, ["BEGIN;", 'DELETE FROM "s"', "END;"])).toBe("later");
    expect(driver.batches).toHaveLength(3);
  });

  it("does not wait for reads, rolled-back transactions or commits that wrote nothing", async () => {
    const driver = fakeDriver();
    syncCommitsOffThread(driver, log(), failOnError);
    expect(await run(driver, ['SELECT * FROM "s"'], true)).toBe("sync");
    expect(await run(driver, ["BEGIN;", 'SELECT * FROM "s"', "END;"])).toBe("sync");
    expect(await run(driver, ["BEGIN;", 'INSERT INTO "s" VALUES (?)', "ROLLBACK;"])).toBe("sync");
    expect(await run(driver, ["END;"])).toBe("sync");
  });

  it("lets commits made during an fsync share the next one, and all of them complete", async () => {
    const driver = fakeDriver();
    syncCommitsOffThread(driver, log(), failOnError);
    const done = [0, 1, 2, 3].map(() => run(driver, ["BEGIN;", 'INSERT INTO "s" VALUES (?)', "END;"]));
    expect(await Promise.all(done)).toEqual(["later", "later", "later", "later"]);
  });

  it("reports an fsync it cannot do instead of answering the commit", async () => {
    const driver = fakeDriver();
    const dir = mkdtempSync(path.join(tmpdir(), "surfaces-wal-"));
    const failed = new Promise<Error>((resolve) => syncCommitsOffThread(driver, path.join(dir, "no-such-dir", "x-wal"), resolve));
    writeFileSync(path.join(dir, "no-such-dir"), "a file, so the path under it gives ENOTDIR");
    driver.exec([{ sql: "BEGIN;" }, { sql: 'INSERT INTO "s" VALUES (?)' }, { sql: "END;" }], false, () => {
      throw new Error("a commit whose log could not be synced was answered");
    });
    expect((await failed).message).toMatch(/ENOTDIR/);
  });
});
