import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerSettings {
  /** pino level. @default 'info' */
  level?: string;
  /** Name shown as `name` on every line. @default 'kairos' */
  name?: string;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = { level: settings.level ?? 'info', name: settings.name ?? 'kairos' };
  return pino(options);
}

/** A logger that writes nothing: the default for library code and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
