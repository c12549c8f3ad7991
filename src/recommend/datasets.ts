import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RecommendErrors } from './errors.js';
import { InteractionLogBuilder } from './interactions.js';
import type { InteractionLog } from './types.js';

/**
 * Interaction weights of e-commerce behaviour: a view says little, a cart add more, a purchase
 * most. 1/3/5 puts a purchase on the top of the 1–5 rating scale and a view at its bottom, so event
 * data and rating data feed the same models; a favourite sits between a view and a cart add.
 * Keys are Segment e-commerce event names and the Taobao behaviour codes.
 */
export const EVENT_WEIGHTS = Object.freeze({
  'Product Viewed': 1,
  'Product Clicked': 1,
  'Product Added': 3,
  'Order Completed': 5,
  pv: 1,
  fav: 2,
  cart: 3,
  buy: 5,
} as const);

/** Weight of an event name, or undefined when the event is no interaction signal. */
export function eventWeight(name: string): number | undefined {
  return (EVENT_WEIGHTS as Readonly<Record<string, number>>)[name];
}

export const DATASET_NAMES = ['ml-100k', 'ml-latest-small'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export function isDatasetName(value: unknown): value is DatasetName {
  return typeof value === 'string' && (DATASET_NAMES as readonly string[]).includes(value);
}

/** Formats of rating files: MovieLens 100k `u.data` (tab-separated) or a CSV with a header. */
export const RATING_FORMATS = ['ml100k', 'csv'] as const;
export type RatingFormat = (typeof RATING_FORMATS)[number];

function parseError(message: string, line: number): Error {
  return RecommendErrors.create('RECOMMEND_DATASET_PARSE', `${message} (line ${line})`, { details: { line } });
}

function toNumber(value: string | undefined, what: string, line: number): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(n)) {
    throw parseError(`bad ${what} ${JSON.stringify(value)}`, line);
  }
  return n;
}

/** Parses ml-100k `u.data`: `user\titem\trating\ttimestamp` per line; weight = rating. */
export function parseMl100k(text: string): InteractionLog {
  const builder = new InteractionLogBuilder();
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    const cols = line.split('\t');
    if (cols.length < 3) throw parseError('expected user\\titem\\trating\\ttimestamp', lineNo);
    const rating = toNumber(cols[2], 'rating', lineNo);
    const timestamp = cols[3] === undefined ? 0 : toNumber(cols[3], 'timestamp', lineNo);
    builder.add(cols[0]!, cols[1]!, rating, timestamp);
  }
  return builder.build();
}

/**
 * Parses a ratings CSV with a header naming `userId`, `movieId` or `itemId`, `rating` and
 * optionally `timestamp` (ml-latest-small `ratings.csv`; CRLF or LF). No quoting: ids are plain.
 */
export function parseRatingsCsv(text: string): InteractionLog {
  const lines = text.split('\n');
  const header = (lines[0] ?? '')
    .replace(/\r$/, '')
    .split(',')
    .map((h) => h.trim());
  const col = (...names: string[]): number => header.findIndex((h) => names.includes(h));
  const userCol = col('userId', 'user', 'userID', 'user_id');
  const itemCol = col('movieId', 'itemId', 'item', 'itemID', 'item_id');
  const ratingCol = col('rating', 'weight');
  const timeCol = col('timestamp', 'time');
  if (userCol < 0 || itemCol < 0 || ratingCol < 0) {
    throw parseError('header must name userId, movieId|itemId and rating', 1);
  }
  const builder = new InteractionLogBuilder();
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const cols = line.split(',');
    const user = cols[userCol];
    const item = cols[itemCol];
    if (user === undefined || item === undefined || user === '' || item === '') {
      throw parseError('missing user or item', k + 1);
    }
    const rating = toNumber(cols[ratingCol], 'rating', k + 1);
    const timestamp = timeCol < 0 ? 0 : toNumber(cols[timeCol], 'timestamp', k + 1);
    builder.add(user, item, rating, timestamp);
  }
  return builder.build();
}

/**
 * Parses e-commerce behaviour rows `user,item,category,behavior,timestamp` (Taobao User Behavior,
 * no header); behaviours map to weights through EVENT_WEIGHTS, unknown behaviours are skipped.
 */
export function parseBehaviorCsv(text: string): InteractionLog {
  const builder = new InteractionLogBuilder();
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const cols = line.split(',');
    if (cols.length < 5) throw parseError('expected user,item,category,behavior,timestamp', lineNo);
    const weight = eventWeight(cols[3]!);
    if (weight === undefined) continue;
    builder.add(cols[0]!, cols[1]!, weight, toNumber(cols[4], 'timestamp', lineNo));
  }
  return builder.build();
}

export function parseRatings(text: string, format: RatingFormat): InteractionLog {
  return format === 'ml100k' ? parseMl100k(text) : parseRatingsCsv(text);
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw RecommendErrors.create('RECOMMEND_DATASET_NOT_FOUND', `Cannot read ${path}`, {
      cause: err,
      details: { path },
    });
  }
}

/** Reads a ratings file in the given format. */
export async function loadRatingsFile(path: string, format: RatingFormat): Promise<InteractionLog> {
  return parseRatings(await readText(path), format);
}

/**
 * Where a dataset's ratings file is under `dataDir`: either `dataDir/<name>/<file>` (the shared
 * datasets folder) or `dataDir/<file>` (the dataset folder itself).
 */
export function datasetFile(name: DatasetName, dataDir: string): string {
  const file = name === 'ml-100k' ? 'u.data' : 'ratings.csv';
  const nested = join(dataDir, name, file);
  if (existsSync(nested)) return nested;
  const direct = join(dataDir, file);
  if (existsSync(direct)) return direct;
  throw RecommendErrors.create('RECOMMEND_DATASET_NOT_FOUND', `No ${name} ${file} under ${dataDir}`, {
    details: { dataset: name, dataDir },
  });
}

/** Loads a named MovieLens dataset; weights are the ratings. */
export async function loadDataset(name: DatasetName, dataDir: string): Promise<InteractionLog> {
  const path = datasetFile(name, dataDir);
  return loadRatingsFile(path, name === 'ml-100k' ? 'ml100k' : 'csv');
}
