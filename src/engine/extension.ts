import type { Clock, Logger } from '../core/index.js';
import type { EventLog } from '../log/index.js';
import type { ProfileReader } from '../profiles/index.js';
import type { KeyRing, RouteModule } from '../serve/index.js';
import type { MetadataStore, StateStore } from '../store/index.js';
import type { CommitReport } from '../stream/index.js';
import type { Registry } from 'prom-client';

/** What the engine hands an extension when it starts (everything is already open). */
export interface EngineContext {
  readonly dataDir: string;
  readonly log: EventLog;
  readonly state: StateStore;
  readonly metadata: MetadataStore;
  readonly profiles: ProfileReader;
  readonly keys: KeyRing;
  readonly metrics: Registry;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The log's partition count (for per-partition consumers such as outbox readers). */
  readonly partitionCount: number;
}

/** What a started extension gives back to the engine. */
export interface StartedExtension {
  /** HTTP routes it serves. */
  readonly routes?: readonly RouteModule[];
  /** Called on the main thread after every stream commit (changed keys, outbox records). */
  readonly onCommit?: (report: CommitReport) => void;
  /** Stops its background work; called in reverse start order. */
  readonly stop?: () => Promise<void>;
}

/**
 * A capability plugged into the engine's composition root (recommendations, segments activation, …).
 * Extensions read stores and the log; they never drive the stream (data flows one way).
 */
export interface EngineExtension {
  readonly name: string;
  start(context: EngineContext): Promise<StartedExtension>;
}
