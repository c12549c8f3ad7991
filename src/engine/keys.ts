import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyRing } from '../serve/index.js';

export interface ResolvedKeys extends KeyRing {
  /** True when this start generated and stored new keys. */
  readonly generated: boolean;
}

interface StoredKeys {
  writeKey: string;
  secretKey: string;
  createdAt: string;
}

/**
 * Keys come from options (KAIROS_WRITE_KEY / KAIROS_SECRET_KEY at the entry point); otherwise they are
 * generated on first start and stored in `<dataDir>/keys.json` (mode 0600), then reused.
 */
export function resolveKeys(dataDir: string, given: { writeKey?: string; secretKey?: string }): ResolvedKeys {
  const file = join(dataDir, 'keys.json');
  let stored: StoredKeys | undefined;
  let generated = false;
  if (!given.writeKey || !given.secretKey) {
    if (existsSync(file)) {
      stored = JSON.parse(readFileSync(file, 'utf8')) as StoredKeys;
    } else {
      stored = {
        writeKey: `wk_${randomBytes(16).toString('hex')}`,
        secretKey: `sk_${randomBytes(24).toString('hex')}`,
        createdAt: new Date().toISOString(),
      };
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(`${file}.tmp`, JSON.stringify(stored, null, 2), { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
      generated = true;
    }
  }
  const writeKey = given.writeKey ?? stored!.writeKey;
  const secretKey = given.secretKey ?? stored!.secretKey;
  return Object.freeze({ writeKeys: [writeKey], secretKeys: [secretKey], generated });
}
