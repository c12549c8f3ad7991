import type { CatalogueDelta } from './catalogue.js';
import type { SegmentMembers } from './build-serving.js';
import type { InteractionDelta } from './interaction-table.js';
import type { TrainerSettings } from './options.js';
import type { TrainingResult } from './train-job.js';

/** What the trainer thread is started with (plain data). */
export interface TrainerWorkerData {
  readonly dataDir: string;
  /** Where artifacts and the snapshot live (absolute). */
  readonly modelsDir: string;
  readonly partitionCount: number;
  readonly settings: TrainerSettings;
}

export type TrainerRequest =
  | { readonly type: 'delta'; readonly delta: InteractionDelta }
  | {
      readonly type: 'train';
      readonly version: number;
      readonly segments: readonly SegmentMembers[];
      readonly nowMs: number;
    }
  | { readonly type: 'snapshot' }
  | { readonly type: 'stop' };

export type TrainerReply =
  | {
      readonly type: 'ready';
      /** The table restored from the snapshot (empty on a first start or an unreadable snapshot). */
      readonly snapshotId: string | null;
      readonly snapshotProblem: string | null;
      readonly positions: readonly number[];
      readonly records: number;
      readonly rows: number;
      readonly userIds: readonly string[];
      readonly itemIds: readonly string[];
      readonly catalogue: CatalogueDelta;
    }
  | {
      readonly type: 'trained';
      readonly result: TrainingResult;
      /** Artifact path relative to the data dir, and its size. */
      readonly file: string;
      readonly bytes: number;
      readonly snapshotId: string;
    }
  | { readonly type: 'train-failed'; readonly version: number; readonly code: string; readonly message: string }
  | { readonly type: 'snapshot-written'; readonly snapshotId: string; readonly positions: readonly number[] }
  | { readonly type: 'snapshot-failed'; readonly message: string }
  | { readonly type: 'stopped' };

export const SNAPSHOT_FILE = 'interactions.snap';

export function artifactFileName(version: number, model: string): string {
  return `v${String(version).padStart(8, '0')}-${model}.krm`;
}
