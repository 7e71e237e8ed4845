import { MemoryStore, SyncAccumulator, type ISyncResponse } from "matrix-js-sdk";
import type { ISavedSync } from "matrix-js-sdk/lib/store/index.js";

/** Where the accumulated sync is kept between runs (the store's kv table). */
export interface SyncPersistence {
  load(): string | undefined;
  save(json: string): void;
}

// The cache only has to resume the sync and hold room state; the ledger,
// not old timeline events, decides what was handled.
const MAX_TIMELINE_ENTRIES = 20;

/**
 * matrix-js-sdk's MemoryStore forgets the sync position, so a restart would
 * start a fresh initial sync and miss events beyond its timeline limit. This
 * store persists the SDK's SyncAccumulator JSON, so `startClient` resumes
 * from the saved `next_batch` with every room's state.
 *
 * Only the syncs since the last save are held in memory (`delta`): the saved
 * sync of every room (≈3 KB a room as objects) is read back and merged only
 * to save or to resume, then dropped — the SDK's own rooms hold what the bot
 * reads. Saves are throttled: resuming from a slightly older token only
 * replays events, and the handled event ledger drops the replays.
 */
export class PersistentSyncStore extends MemoryStore {
  private delta = new SyncAccumulator({ maxTimelineEntries: MAX_TIMELINE_ENTRIES });
  /** Rooms left since the last save: their saved state is dropped before the delta is applied (a rejoin brings it whole). */
  private left = new Set<string>();
  /** Rooms whose timeline had a gap since the last save: the saved timeline before the gap is dropped. */
  private limited = new Set<string>();
  private dirty = false;
  private flushQueued = false;
  private lastSave = 0;
  private savedToken: string | null;
  readonly hadSavedSync: boolean;

  constructor(
    private readonly persistence: SyncPersistence,
    // Each save reads, merges and writes every room's state (≈50 ms at 200
    // rooms); every 5 s it was a visible share of a busy bot's CPU. A crash
    // costs at most this much replay, which the ledger drops.
    private readonly minSaveIntervalMs = 60_000,
    /** A save that failed (the next one tries again). */
    private readonly onSaveError: (err: unknown) => void = () => undefined,
  ) {
    super();
    this.savedToken = readSaved(persistence)?.nextBatch || null;
    this.hadSavedSync = Boolean(this.savedToken);
  }

  override setSyncData(syncData: ISyncResponse): Promise<void> {
    for (const roomId of Object.keys(syncData.rooms?.leave ?? {})) {
      this.left.add(roomId);
      this.limited.delete(roomId);
    }
    for (const [roomId, room] of Object.entries(syncData.rooms?.join ?? {})) {
      if (room.timeline?.limited) this.limited.add(roomId);
    }
    this.delta.accumulate(syncData);
    this.dirty = true;
    return Promise.resolve();
  }

  override getSavedSync(): Promise<ISavedSync | null> {
    // As the SDK's own stores hand it out: ages, not the saved local timestamps.
    const json = this.merged(false);
    return Promise.resolve(json.nextBatch ? json : null);
  }

  override getSavedSyncToken(): Promise<string | null> {
    return Promise.resolve(this.delta.getNextBatchToken() || this.savedToken);
  }

  override wantsSave(): boolean {
    return this.dirty && Date.now() - this.lastSave >= this.minSaveIntervalMs;
  }

  /**
   * The SDK calls this after each sync it handled and waits for it before
   * its next /sync. The write (after a first sync: every room's state,
   * ≈0.7 s of CPU at 5,000 rooms) runs on the next turn of the event loop
   * instead, so the next /sync is already on its way and readiness after a
   * first sync does not wait for it. A later sync's events cannot be handled
   * before it runs.
   */
  override save(force = false): Promise<void> {
    if ((this.dirty || force) && !this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        try {
          this.flush();
        } catch (err) {
          // Still dirty: the next save writes it.
          this.onSaveError(err);
        }
      });
    }
    return Promise.resolve();
  }

  /** Writes the accumulated sync now (called on shutdown). */
  flush(): void {
    if (!this.dirty) return;
    const json = this.merged(true);
    if (!json.nextBatch) return;
    this.persistence.save(JSON.stringify(json));
    this.savedToken = json.nextBatch;
    this.delta = new SyncAccumulator({ maxTimelineEntries: MAX_TIMELINE_ENTRIES });
    this.left.clear();
    this.limited.clear();
    this.dirty = false;
    this.lastSave = Date.now();
  }

  /** The saved sync with the syncs since applied (a fresh object each call). */
  private merged(forDatabase: boolean): ISavedSync {
    const saved = readSaved(this.persistence);
    // Nothing saved yet (a first sync): the delta is the whole of it, without a second copy to
    // write; what the SDK is handed must not share objects with the delta (it mutates events).
    if (!saved && this.dirty) return forDatabase ? this.delta.getJSON(true) : structuredClone(this.delta.getJSON(false));
    const acc = new SyncAccumulator({ maxTimelineEntries: MAX_TIMELINE_ENTRIES });
    if (saved) acc.accumulate({ next_batch: saved.nextBatch, rooms: saved.roomsData, account_data: { events: saved.accountData } }, true);
    if (!this.dirty) return acc.getJSON(forDatabase);
    if (this.left.size > 0) acc.accumulate({ next_batch: saved?.nextBatch ?? "", rooms: { join: {}, invite: {}, knock: {}, leave: Object.fromEntries([...this.left].map((id) => [id, {}])) } } as unknown as ISyncResponse, true);
    const delta = this.delta.getJSON(true);
    for (const roomId of this.limited) {
      const room = delta.roomsData.join[roomId];
      if (room) room.timeline.limited = true;
    }
    acc.accumulate({ next_batch: delta.nextBatch, rooms: delta.roomsData, account_data: { events: delta.accountData } }, true);
    return acc.getJSON(forDatabase);
  }
}

function readSaved(persistence: SyncPersistence): ISavedSync | undefined {
  const saved = persistence.load();
  if (!saved) return undefined;
  try {
    return JSON.parse(saved) as ISavedSync;
  } catch {
    // A corrupt cache is just a cache: start a fresh sync.
    return undefined;
  }
}
