import { describe, expect, it } from 'vitest';
import { eventWeight, parseBehaviorCsv, parseMl100k, parseRatingsCsv } from './datasets.js';
import { buildInteractionMatrix } from './interactions.js';

describe('parsers', () => {
  it('reads ml-100k u.data lines', () => {
    const log = parseMl100k('196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n');
    expect(log.length).toBe(3);
    expect(log.userIds).toEqual(['196', '186']);
    expect(log.itemIds).toEqual(['242', '302', '377']);
    expect(Array.from(log.weights)).toEqual([3, 3, 1]);
    expect(log.timestamps[2]).toBe(878887116);
  });

  it('reads a ratings CSV with CRLF line endings and either item column name', () => {
    const a = parseRatingsCsv('userId,movieId,rating,timestamp\r\n1,31,2.5,1260759144\r\n1,1029,3.0,1260759179\r\n');
    expect(a.length).toBe(2);
    expect(a.timestamps[1]).toBe(1260759179);
    expect(Array.from(a.weights)).toEqual([2.5, 3]);
    const b = parseRatingsCsv('userId,itemId,rating,timestamp\n7,x,1,5\n');
    expect(b.itemIds).toEqual(['x']);
  });

  it('maps e-commerce behaviour to view < cart < purchase weights, merging repeats to the strongest', () => {
    const log = parseBehaviorCsv('1,10,5,pv,100\n1,10,5,cart,200\n1,10,5,buy,300\n1,11,5,pv,150\n2,10,5,fav,120\n');
    expect(Array.from(log.weights)).toEqual([1, 3, 5, 1, 2]);
    const m = buildInteractionMatrix(log);
    expect(m.userPtr[1]! - m.userPtr[0]!).toBe(2);
    expect(m.userWeights[0]).toBe(5);
    expect(m.userTimes[0]).toBe(300);
    expect(eventWeight('Product Viewed')! < eventWeight('Product Added')!).toBe(true);
    expect(eventWeight('Product Added')! < eventWeight('Order Completed')!).toBe(true);
    expect(eventWeight('Signed Up')).toBeUndefined();
  });

  it('rejects malformed rows with RECOMMEND_DATASET_PARSE', () => {
    expect(() => parseMl100k('1\t2\tx\t3\n')).toThrow(expect.objectContaining({ code: 'RECOMMEND_DATASET_PARSE' }));
    expect(() => parseRatingsCsv('a,b,c\n1,2,3\n')).toThrow(
      expect.objectContaining({ code: 'RECOMMEND_DATASET_PARSE' }),
    );
  });
});
