import { CollectErrors } from '../collect/index.js';
import { CoreErrors, type ErrorRegistry } from '../core/index.js';
import { DatasetErrors } from '../datasets/index.js';
import { LogErrors } from '../log/index.js';
import { ProfilesErrors } from '../profiles/index.js';
import { RecommendErrors, RecommendServingErrors } from '../recommend/index.js';
import { SegmentsErrors } from '../segments/index.js';
import { ServeErrors } from '../serve/index.js';
import { StoreErrors } from '../store/index.js';
import { StreamErrors } from '../stream/index.js';

/** Every capability's error registry; docs/errors.md must list exactly these codes (a test checks). */
export const errorRegistries: readonly ErrorRegistry<string>[] = [
  CoreErrors,
  CollectErrors,
  LogErrors,
  StreamErrors,
  StoreErrors,
  ProfilesErrors,
  SegmentsErrors,
  RecommendErrors,
  RecommendServingErrors,
  DatasetErrors,
  ServeErrors,
];
