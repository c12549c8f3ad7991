import { anonymousKey, encodePayload, userKey, type KairosEvent, type LogPayload } from '../../src/core/index.js';
import type { EventLog } from '../../src/log/index.js';

let counter = 0;

/** A normalised event as the collector would append it (tests build streams from these). */
export function makeEvent(partial: Partial<KairosEvent> & { eventTimeMs: number }): KairosEvent {
  const userId = partial.userId;
  const anonymousId = partial.anonymousId ?? (userId === undefined ? 'anon-1' : undefined);
  const profileKey = partial.profileKey ?? (userId !== undefined ? userKey(userId) : anonymousKey(anonymousId!));
  const iso = new Date(partial.eventTimeMs).toISOString();
  return {
    type: 'track',
    event: 'Product Viewed',
    messageId: `m-${++counter}`,
    timestamp: iso,
    receivedAt: iso,
    receivedAtMs: partial.eventTimeMs,
    ...partial,
    ...(anonymousId !== undefined ? { anonymousId } : {}),
    profileKey,
  };
}

export async function appendPayloads(log: EventLog, payloads: readonly LogPayload[]): Promise<void> {
  await log.append(payloads.map((p) => ({ key: p.profileKey, value: encodePayload(p), timestampMs: p.eventTimeMs })));
}
