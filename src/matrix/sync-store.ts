import { MemoryStore, SyncAccumulator, type ISyncResponse } from "matrix-js-sdk";
import type { ISavedSync } from "matrix-js-sdk/lib/store/index.js";

/** Where the accumulated sync is kept between runs (the store's kv table). */
export interface SyncPersistence {
  load(): string | undefined;
  save(json: string): void;
}

/**
 * matrix-js-sdk's MemoryStore forgets the sync position, so a restart would
 * start a fresh initial sync and miss events beyond its timeline limit. This
 * store feeds every sync into the SDK's SyncAccumulator and persists its JSON,
 * so `startClient` resumes from the saved `next_batch`. Saves are throttled:
 * resuming from a slightly older token only replays events, and the handled
 * event ledger drops the replays.
 */
export class PersistentSyncStore extends MemoryStore {
  // The cache only has to resume the sync and hold room state; the ledger,
  // not old timeline events, decides what was handled.
  private readonly accumulator = new SyncAccumulator({ maxTimelineEntries: 20 });
  private dirty = false;
  private lastSave = 0;
  readonly hadSavedSync: boolean;

  constructor(
    private readonly persistence: SyncPersistence,
    // Each save serialises every room's state (≈50 ms at 200 rooms); every
    // 5 s it was a visible share of a busy bot's CPU. A crash costs at most
    // this much replay, which the ledger drops.
    private readonly minSaveIntervalMs = 60_000,
  ) {
    super();
    const saved = persistence.load();
    this.hadSavedSync = false;
    if (saved) {
      try {
        const data = JSON.parse(saved) as ISavedSync;
        this.accumulator.accumulate(
          { next_batch: data.nextBatch, rooms: data.roomsData, account_data: { events: data.accountData } },
          true,
        );
        this.hadSavedSync = Boolean(data.nextBatch);
      } catch {
        // A corrupt cache is just a cache: start a fresh sync.
      }
    }
  }

  override setSyncData(syncData: ISyncResponse): Promise<void> {
    this.accumulator.accumulate(syncData);
    this.dirty = true;
    return Promise.resolve();
  }

  override getSavedSync(): Promise<ISavedSync | null> {
    const json = this.accumulator.getJSON();
    return Promise.resolve(json.nextBatch ? structuredClone(json) : null);
  }

  override getSavedSyncToken(): Promise<string | null> {
    return Promise.resolve(this.accumulator.getNextBatchToken() || null);
  }

  override wantsSave(): boolean {
    return this.dirty && Date.now() - this.lastSave >= this.minSaveIntervalMs;
  }

  override save(force = false): Promise<void> {
    if (this.dirty || force) this.flush();
    return Promise.resolve();
  }

  /** Writes the accumulated sync now (called on shutdown). */
  flush(): void {
    const json = this.accumulator.getJSON(true);
    if (!json.nextBatch) return;
    this.persistence.save(JSON.stringify(json));
    this.dirty = false;
    this.lastSave = Date.now();
  }
}
