import { pino, type Logger } from "pino";

/**
 * The process logger. Asynchronous destination: a log line never blocks the frame loop
 * (pino buffers and flushes off the hot path). Logs go to stderr so stdout stays free for
 * tables and JSON reports.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  const destination = pino.destination({ dest: 2, sync: false, minLength: 4096 });
  const logger = pino({ level: options.level ?? process.env.FOVEA_LOG_LEVEL ?? "info", name: options.name ?? "fovea" }, destination);
  // Flush buffered lines on exit so the last status is not lost.
  process.once("exit", () => destination.flushSync());
  return logger;
}

export type { Logger };
