import { existsSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/index.js';
import type { MetadataStore } from '../../store/index.js';
import { decodeArtifact } from '../artifact.js';
import type { ModelArtifact } from '../types.js';
import type { ModelRecord } from './types.js';

/** MetadataStore collection of model versions (id `v00000042`, ascending = version order). */
export const MODELS_COLLECTION = 'models';
/** MetadataStore collection of the trainer's cursors (id `state`). */
export const TRAINER_COLLECTION = 'recommend-trainer';

/** The trainer's resumable position: the snapshot that holds the table and the log cursors it reached. */
export interface TrainerCursor {
  readonly snapshotId: string;
  readonly positions: readonly number[];
  readonly savedAt: string;
}

export function versionId(version: number): string {
  return `v${String(version).padStart(8, '0')}`;
}

/**
 * The model registry: versioned artifacts under `<dataDir>/models/`, one record per version in the
 * MetadataStore. Only the newest `keep` artifacts stay on disk, never the one being served.
 */
export class ModelRegistry {
  private lastVersion = 0;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly dataDir: string,
    private readonly keep: number,
    private readonly logger: Logger,
  ) {}

  async init(): Promise<void> {
    const page = await this.metadata.list<ModelRecord>(MODELS_COLLECTION, { reverse: true, limit: 1 });
    this.lastVersion = page.items[0]?.doc.version ?? 0;
  }

  /** Reserves the next version number. */
  nextVersion(): number {
    return ++this.lastVersion;
  }

  put(record: ModelRecord): Promise<void> {
    return this.metadata.put(MODELS_COLLECTION, versionId(record.version), record);
  }

  get(version: number): Promise<ModelRecord | undefined> {
    return this.metadata.get<ModelRecord>(MODELS_COLLECTION, versionId(version));
  }

  async list(limit = 50): Promise<ModelRecord[]> {
    const page = await this.metadata.list<ModelRecord>(MODELS_COLLECTION, { reverse: true, limit });
    return page.items.map((item) => item.doc);
  }

  /** The newest servable version (active, else retired with its file), decoded. */
  async loadLatest(
    accept: (artifact: ModelArtifact) => boolean,
  ): Promise<{ record: ModelRecord; artifact: ModelArtifact } | undefined> {
    let after: string | undefined;
    for (;;) {
      const page = await this.metadata.list<ModelRecord>(MODELS_COLLECTION, {
        reverse: true,
        limit: 20,
        ...(after ? { after } : {}),
      });
      for (const { doc } of page.items) {
        if (doc.state === 'failed' || doc.file === undefined) continue;
        const path = join(this.dataDir, doc.file);
        if (!existsSync(path)) continue;
        try {
          const artifact = decodeArtifact(await readFile(path));
          if (accept(artifact)) return { record: doc, artifact };
          this.logger.warn(
            { version: doc.version },
            'model artifact does not match the interaction dictionaries; skipped',
          );
        } catch (error) {
          this.logger.warn({ err: error, version: doc.version }, 'unreadable model artifact; skipped');
        }
      }
      if (!page.next) return undefined;
      after = page.next;
    }
  }

  /** Marks `previous` retired (a newer version is being served). */
  async retire(previous: number): Promise<void> {
    const record = await this.get(previous);
    if (record && record.state === 'active') await this.put({ ...record, state: 'retired' });
  }

  /** Deletes artifacts beyond the newest `keep` versions (never `serving`). */
  async retain(serving: number): Promise<void> {
    const records = await this.list(this.keep + 50);
    let kept = 0;
    for (const record of records) {
      if (record.file === undefined) continue;
      if (kept < this.keep || record.version === serving) {
        kept++;
        continue;
      }
      await unlink(join(this.dataDir, record.file)).catch(() => undefined);
      const { file: _file, ...rest } = record;
      await this.put({ ...rest });
    }
  }

  loadCursor(): Promise<TrainerCursor | undefined> {
    return this.metadata.get<TrainerCursor>(TRAINER_COLLECTION, 'state');
  }

  saveCursor(cursor: TrainerCursor): Promise<void> {
    return this.metadata.put(TRAINER_COLLECTION, 'state', cursor);
  }
}
