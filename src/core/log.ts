import { pino, type Logger } from "pino";

/**
 * The process logger. Asynchronous destination: a log line never blocks the frame loop
 * (sonic-boom writes in the background and gathers lines while a write is in flight). Logs go to
 * stderr so stdout stays free for tables and JSON reports.
 *
 * No `minLength` buffer: fovea logs a few lines a second at most (status, reconnects, epochs),
 * and a 4 KiB buffer held them back for minutes — a training run's epoch lines appeared only at
 * exit, and a killed process lost them.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  const destination = pino.destination({ dest: 2, sync: false });
  const logger = pino({ level: options.level ?? process.env.FOVEA_LOG_LEVEL ?? "info", name: options.name ?? "fovea" }, destination);
  // Flush buffered lines on exit so the last status is not lost.
  process.once("exit", () => destination.flushSync());
  return logger;
}

export type { Logger };
