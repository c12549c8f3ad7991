import { defineErrors } from '../core/index.js';

export const ProfilesErrors = defineErrors('profiles', {
  PROFILES_NOT_FOUND: { status: 404, message: 'No profile with this id' },
  PROFILES_INVALID_LOOKUP: { status: 400, message: 'Give a userId in the path, or ?anonymousId=' },
});
export type ProfilesErrorCode = keyof typeof ProfilesErrors.specs;
