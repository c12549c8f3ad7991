import { describe, expect, it } from 'vitest';
import { MembershipTracker } from './membership.js';

const bySegment = (tracker: MembershipTracker) =>
  Object.fromEntries([...tracker.bySegment()].map(([id, keys]) => [id, [...keys].sort()]));

describe('MembershipTracker', () => {
  it('follows enters and exits in commit order', () => {
    const tracker = new MembershipTracker();
    tracker.apply('u:a', 'vip', true);
    tracker.apply('u:b', 'vip', true);
    tracker.apply('u:a', 'high-intent', true);
    tracker.apply('u:b', 'vip', false);
    expect(bySegment(tracker)).toEqual({ vip: ['u:a'], 'high-intent': ['u:a'] });
    tracker.apply('u:a', 'vip', false);
    tracker.apply('u:a', 'high-intent', false);
    expect(bySegment(tracker)).toEqual({});
    expect(tracker.size).toBe(0);
  });

  it('ignores a repeated enter and the exit of a non-member', () => {
    const tracker = new MembershipTracker();
    tracker.apply('u:a', 'vip', true);
    tracker.apply('u:a', 'vip', true);
    tracker.apply('u:c', 'vip', false);
    expect(bySegment(tracker)).toEqual({ vip: ['u:a'] });
    expect(tracker.size).toBe(1);
  });

  it('takes what a request read as the profile’s memberships', () => {
    const tracker = new MembershipTracker();
    tracker.apply('u:a', 'vip', true);
    tracker.observe('u:a', ['high-intent']);
    expect(bySegment(tracker)).toEqual({ 'high-intent': ['u:a'] });
    tracker.observe('u:a', []);
    expect(tracker.size).toBe(0);
  });

  it('tracks at most maxProfiles profiles, and still lets members leave', () => {
    const tracker = new MembershipTracker(2);
    tracker.apply('u:a', 'vip', true);
    tracker.apply('u:b', 'vip', true);
    tracker.apply('u:c', 'vip', true);
    tracker.apply('u:a', 'high-intent', true);
    expect(bySegment(tracker)).toEqual({ vip: ['u:a', 'u:b'], 'high-intent': ['u:a'] });
    tracker.apply('u:b', 'vip', false);
    tracker.apply('u:c', 'vip', true);
    expect(bySegment(tracker)).toEqual({ vip: ['u:a', 'u:c'], 'high-intent': ['u:a'] });
  });
});
