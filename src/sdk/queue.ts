import type { KairosMessage, StoragePort } from './types.js';

/**
 * One queued message. Short keys because the whole queue is JSON in localStorage and is rewritten
 * on every change.
 */
export interface QueueEntry {
  /** The message, exactly as it will be sent (ids and timestamp fixed at creation). */
  m: KairosMessage;
  /** Consent category. */
  c: string;
  /** Priority: the lowest goes first when the queue is over its bounds. */
  p: number;
  /** UTF-8 bytes of the message's JSON. */
  s: number;
  /** Epoch ms until which the message counts as sent-but-unanswered; nobody sends it before then. */
  l?: number;
}

export interface QueueSettings {
  storage: StoragePort;
  /** `kairos.<writeKey>.` */
  prefix: string;
  /** This page's id; it is the only writer of its own queue key. */
  tabId: string;
  now(): number;
  maxCount: number;
  maxBytes: number;
  /** A tab whose alive mark is older than this is taken for closed. */
  tabTimeoutMs: number;
  onWriteError(err: unknown): void;
}

/**
 * The persistent bounded queue of one page.
 *
 * Each page (tab) writes only its own key `<prefix>q.<tabId>`, so two tabs never overwrite each
 * other's messages (localStorage has no transactions across tabs). A page refreshes
 * `<prefix>alive.<tabId>` while it lives and removes it on `pagehide`; a page that finds the queue
 * of a page no longer alive (closed, reloaded, crashed) adopts it: copies its messages into its own
 * queue first, then deletes the orphan. Two pages adopting the same orphan at once both send its
 * messages: a duplicate the server drops by messageId, never a loss.
 *
 * If a write fails (quota), the newer state stays in memory and is used for as long as the stored
 * value is unchanged, so sending goes on; only persistence is lost.
 */
export interface PersistentQueue {
  entries(): readonly QueueEntry[];
  /** Appends, then drops the lowest-priority (oldest first) entries until within bounds; returns those. */
  push(entry: QueueEntry): QueueEntry[];
  /** Removes the entries whose messageId is in `ids`. */
  remove(ids: ReadonlySet<string>): void;
  /** Removes and returns the entries `drop` selects. */
  removeWhere(drop: (entry: QueueEntry) => boolean): QueueEntry[];
  /** Sets the lease of the entries in `ids` (0 releases it). */
  lease(ids: ReadonlySet<string>, untilMs: number): void;
  /** Marks this page alive for another `tabTimeoutMs`. */
  heartbeat(): void;
  /** Marks this page gone so that the next page adopts its queue at once. */
  retire(): void;
  /** Moves the queues of pages no longer alive into this one; returns what the bounds dropped. */
  adopt(): QueueEntry[];
}

function parse(raw: string | null): QueueEntry[] {
  try {
    const value: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(value) ? (value as QueueEntry[]) : [];
  } catch {
    return [];
  }
}

export function createPersistentQueue(settings: QueueSettings): PersistentQueue {
  const { storage, prefix, tabId } = settings;
  const queuePrefix = `${prefix}q.`;
  const alivePrefix = `${prefix}alive.`;
  const key = queuePrefix + tabId;
  let lastRaw: string | null = null;
  let cache: QueueEntry[] = [];

  const read = (): QueueEntry[] => {
    const raw = storage.getItem(key);
    // Parsing is the cost of every call; skip it while nobody (another tab adopting us) changed it.
    if (raw !== lastRaw) {
      lastRaw = raw;
      cache = parse(raw);
    }
    return cache;
  };

  const write = (entries: QueueEntry[]): boolean => {
    cache = entries;
    try {
      if (entries.length) {
        const raw = JSON.stringify(entries);
        storage.setItem(key, raw);
        lastRaw = raw;
      } else {
        storage.removeItem(key);
        lastRaw = null;
      }
      return true;
    } catch (err) {
      settings.onWriteError(err);
      return false;
    }
  };

  const bound = (entries: QueueEntry[]): QueueEntry[] => {
    const dropped: QueueEntry[] = [];
    let bytes = entries.reduce((sum, e) => sum + e.s, 0);
    while (entries.length > settings.maxCount || bytes > settings.maxBytes) {
      let victim = 0;
      entries.forEach((e, i) => {
        if (e.p < entries[victim]!.p) victim = i;
      });
      const [gone] = entries.splice(victim, 1);
      bytes -= gone!.s;
      dropped.push(gone!);
    }
    return dropped;
  };

  const removeWhere = (drop: (entry: QueueEntry) => boolean): QueueEntry[] => {
    const all = read();
    const kept = all.filter((e) => !drop(e));
    if (kept.length !== all.length) write(kept);
    return all.filter(drop);
  };

  const setItem = (k: string, v: string): void => {
    try {
      storage.setItem(k, v);
    } catch (err) {
      settings.onWriteError(err);
    }
  };

  return {
    entries: read,
    push(entry) {
      const entries = [...read(), entry];
      const dropped = bound(entries);
      write(entries);
      return dropped;
    },
    remove: (ids) => void removeWhere((e) => ids.has(e.m.messageId)),
    removeWhere,
    lease(ids, untilMs) {
      const entries = read();
      for (const e of entries) if (ids.has(e.m.messageId)) e.l = untilMs;
      write(entries);
    },
    heartbeat: () => setItem(alivePrefix + tabId, String(settings.now() + settings.tabTimeoutMs)),
    retire: () => storage.removeItem(alivePrefix + tabId),
    adopt() {
      const now = settings.now();
      const orphans: string[] = [];
      const stale: string[] = [];
      for (let i = 0; i < storage.length; i++) {
        const k = storage.key(i);
        if (k === null) continue;
        const tab = k.startsWith(queuePrefix) ? k.slice(queuePrefix.length) : undefined;
        if (tab !== undefined && tab !== tabId && !(Number(storage.getItem(alivePrefix + tab)) > now)) orphans.push(k);
        if (k.startsWith(alivePrefix) && !(Number(storage.getItem(k)) > now)) stale.push(k);
      }
      let dropped: QueueEntry[] = [];
      if (orphans.length) {
        const merged = [...read()];
        const seen = new Set(merged.map((e) => e.m.messageId));
        for (const k of orphans) {
          for (const e of parse(storage.getItem(k))) {
            if (!seen.has(e.m.messageId)) merged.push(e);
            seen.add(e.m.messageId);
          }
        }
        // ISO timestamps sort as strings; a stable sort keeps call order among equal times.
        merged.sort((a, b) => (a.m.timestamp < b.m.timestamp ? -1 : a.m.timestamp > b.m.timestamp ? 1 : 0));
        dropped = bound(merged);
        // Copy first, delete second: a crash in between leaves a duplicate, not a loss.
        if (!write(merged)) orphans.length = 0;
      }
      for (const k of [...orphans, ...stale]) storage.removeItem(k);
      return dropped;
    },
  };
}
