import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { hash32 } from '../core/index.js';
import { DatasetErrors } from './errors.js';

export const DATASET_FORMATS = ['ndjson', 'taobao', 'ml100k', 'ratings-csv'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** A Segment-spec message ready for `POST /v1/batch`. */
export type SegmentMessage = Record<string, unknown> & { messageId: string; type: string };

/** Guesses the format from the file name (the datasets keep their original names). */
export function detectFormat(path: string): DatasetFormat {
  const name = basename(path).toLowerCase();
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'ndjson';
  if (name === 'u.data' || name.endsWith('.data')) return 'ml100k';
  if (name === 'ratings.csv') return 'ratings-csv';
  if (name.includes('user_behavior') || name.includes('userbehavior')) return 'taobao';
  throw DatasetErrors.create('DATASETS_UNKNOWN_FORMAT', `Cannot tell the format of ${path}; pass --format`, {
    details: { path, formats: DATASET_FORMATS },
  });
}

const TAOBAO_EVENTS: Record<string, string> = {
  pv: 'Product Viewed',
  cart: 'Product Added',
  fav: 'Product Added to Wishlist',
  buy: 'Order Completed',
};

/**
 * The Taobao dataset has no prices; a deterministic price per item (5.00 … 504.99) lets revenue-based
 * rules and reports work. Documented as synthetic in docs/collect.md.
 */
export function syntheticPrice(itemId: string): number {
  return 5 + (hash32(`price:${itemId}`) % 50_000) / 100;
}

/** Maps one Taobao row `user,item,category,behavior,timestamp` to a Segment e-commerce event. */
export function taobaoToMessage(line: string, lineNumber: number): SegmentMessage | undefined {
  const [user, item, category, behavior, ts] = line.trim().split(',');
  if (!user || !item || !category || !behavior || !ts) return undefined;
  const event = TAOBAO_EVENTS[behavior];
  if (!event) return undefined;
  const timestamp = new Date(Number(ts) * 1000).toISOString();
  const price = syntheticPrice(item);
  const product = { product_id: item, category, price };
  const properties =
    behavior === 'buy'
      ? {
          order_id: `tb-order-${user}-${ts}-${item}`,
          revenue: price,
          currency: 'CNY',
          products: [{ ...product, quantity: 1 }],
        }
      : { ...product, quantity: 1 };
  return {
    type: 'track',
    messageId: `tb-${user}-${item}-${behavior}-${ts}-${lineNumber}`,
    userId: `tb-${user}`,
    event,
    properties,
    timestamp,
  };
}

/** Maps one ML-100k `u.data` row `user\titem\trating\ttimestamp` to an "Item Rated" event. */
export function ml100kToMessage(line: string): SegmentMessage | undefined {
  const [user, item, rating, ts] = line.trim().split('\t');
  if (!user || !item || !rating || !ts) return undefined;
  return {
    type: 'track',
    messageId: `ml100k-${user}-${item}`,
    userId: `ml-${user}`,
    event: 'Item Rated',
    properties: { item_id: item, rating: Number(rating) },
    timestamp: new Date(Number(ts) * 1000).toISOString(),
  };
}

/** Maps one MovieLens `ratings.csv` row `userId,movieId,rating,timestamp` (CRLF tolerated). */
export function ratingsCsvToMessage(line: string): SegmentMessage | undefined {
  const [user, item, rating, ts] = line.trim().split(',');
  if (!user || !item || !rating || !ts || user === 'userId') return undefined;
  return {
    type: 'track',
    messageId: `mlcsv-${user}-${item}`,
    userId: `ml-${user}`,
    event: 'Item Rated',
    properties: { item_id: item, rating: Number(rating) },
    timestamp: new Date(Number(ts) * 1000).toISOString(),
  };
}

/** Streams a dataset file as Segment messages, in file order. Bad lines are counted, not fatal. */
export async function* readDataset(
  path: string,
  format: DatasetFormat = detectFormat(path),
  stats: { lines: number; skipped: number } = { lines: 0, skipped: 0 },
): AsyncGenerator<SegmentMessage> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    stats.lines++;
    if (line.trim() === '') continue;
    let message: SegmentMessage | undefined;
    switch (format) {
      case 'taobao':
        message = taobaoToMessage(line, stats.lines);
        break;
      case 'ml100k':
        message = ml100kToMessage(line);
        break;
      case 'ratings-csv':
        message = ratingsCsvToMessage(line);
        break;
      case 'ndjson':
        try {
          const parsed = JSON.parse(line) as SegmentMessage;
          message = typeof parsed === 'object' && parsed !== null ? parsed : undefined;
        } catch {
          message = undefined;
        }
        break;
    }
    if (message) yield message;
    else stats.skipped++;
  }
}

/**
 * Reads a dataset `passes` times (load tests that must outlast the file). Pass k > 1 suffixes every
 * messageId with `~k`, so each pass is new events for the same profiles, not duplicates.
 */
export async function* readPasses(
  read: () => AsyncIterable<SegmentMessage>,
  passes: number,
): AsyncGenerator<SegmentMessage> {
  for (let pass = 1; pass <= passes; pass++) {
    for await (const message of read())
      yield pass === 1 ? message : { ...message, messageId: `${message.messageId}~${pass}` };
  }
}
