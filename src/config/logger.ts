/** JSON-lines logging (pino). Child loggers carry instance and task ids. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Passwords never reach a log line, whatever object a caller logs.
    redact: { paths: ['*.Password', '*.password', 'Password', 'password', '*.*.Password', 'secretAccessKey', '*.secretAccessKey'], censor: '[redacted]' },
  });
}
