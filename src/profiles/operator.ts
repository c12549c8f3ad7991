import type { KeyedOperator } from '../stream/index.js';
import { applyEvent, emptyProfile, mergeProfiles } from './features.js';
import type { ProfileState } from './types.js';

export const PROFILE_OPERATOR = 'profile';

/** The stream operator that keeps each visitor's profile (traits and behavioural features). */
export function createProfileOperator(): KeyedOperator {
  return {
    name: PROFILE_OPERATOR,
    processElement(event, ctx) {
      const state = ctx.getState<ProfileState>() ?? emptyProfile();
      applyEvent(state, event, ctx.key);
      ctx.setState(state);
    },
    merge(from, ctx) {
      if (!from) return;
      const state = ctx.getState<ProfileState>() ?? emptyProfile();
      if (ctx.key.startsWith('u:') && state.u === undefined) state.u = ctx.key.slice(2);
      mergeProfiles(state, from as ProfileState);
      ctx.setState(state);
    },
  };
}
