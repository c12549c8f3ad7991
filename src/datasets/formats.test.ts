import { describe, expect, it } from 'vitest';
import { readPasses, taobaoToMessage, type SegmentMessage } from './formats.js';

async function collect(iterable: AsyncIterable<SegmentMessage>): Promise<SegmentMessage[]> {
  const out: SegmentMessage[] = [];
  for await (const message of iterable) out.push(message);
  return out;
}

describe('readPasses', () => {
  const lines = ['1,10,100,pv,1511544070', '2,11,100,cart,1511544071'];
  async function* read(): AsyncGenerator<SegmentMessage> {
    for (let i = 0; i < lines.length; i++) {
      await Promise.resolve();
      yield taobaoToMessage(lines[i]!, i + 1)!;
    }
  }

  it('repeats the file with new messageIds after the first pass', async () => {
    const messages = await collect(readPasses(read, 3));
    expect(messages).toHaveLength(6);
    const ids = messages.map((m) => m.messageId);
    expect(new Set(ids).size).toBe(6);
    expect(ids[2]).toBe(`${ids[0]}~2`);
    expect(ids[5]).toBe(`${ids[1]}~3`);
    expect(messages[3]!.userId).toBe(messages[1]!.userId);
  });

  it('one pass is the file unchanged', async () => {
    expect(await collect(readPasses(read, 1))).toEqual(await collect(read()));
  });
});
