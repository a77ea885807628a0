import { pino } from 'pino';
import type { Config } from './config.js';

export type Logger = pino.Logger;

/** `toStderr`: for commands whose standard output is their result (`audit --json`). */
export const createLogger = (level: Config['logLevel'], { toStderr = false } = {}): Logger =>
  pino(
    {
      level,
      redact: { paths: ['*.password', '*.token', '*.authorization', '*.jwtSecret'], censor: '[redacted]' },
    },
    toStderr ? pino.destination(2) : undefined,
  );
