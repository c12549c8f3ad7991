import { closeSync, fsyncSync, openSync } from 'node:fs';

/** fsync a file or a directory by path (a directory's fsync makes its new, renamed or removed entries durable). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
