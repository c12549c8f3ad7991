export { createProfileOperator, PROFILE_OPERATOR } from './operator.js';
export { applyEvent, emptyProfile, eventName, itemIdOf, itemIdsOf, mergeProfiles, sessionCount } from './features.js';
export { ProfileReader, lookupKey, toView } from './read.js';
export type { ProfileLookup, ProfileReaderDeps } from './read.js';
export { ProfilesErrors } from './errors.js';
export type { ProfilesErrorCode } from './errors.js';
export { PROFILE_LIMITS } from './options.js';
export type { ProfileFeatures, ProfileState, ProfileView, SegmentMembershipView } from './types.js';
