/** Structured JSON logging with pino. Never pass a secret, share, password or keystore body. */
import { type Logger, pino } from "pino";

export type { Logger };

/** Options for {@link createLogger}. */
export interface LoggerOpts {
  level?: string;
  /** Destination file descriptor or path; stderr by default so stdout stays for results. */
  destination?: number | string;
  /** Fields bound to every line, e.g. `{ node: 1 }`. */
  bindings?: Record<string, unknown>;
}

/** Creates a pino logger writing JSON lines; level defaults to $COHORT_LOG_LEVEL or "info". */
export function createLogger(opts: LoggerOpts = {}): Logger {
  const level = opts.level ?? process.env.COHORT_LOG_LEVEL ?? "info";
  const dest = pino.destination({ dest: opts.destination ?? 2, sync: true, mkdir: true, mode: 0o600 });
  const log = pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, dest);
  return opts.bindings ? log.child(opts.bindings) : log;
}

/** A logger that discards everything (for tests and library callers that pass none). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
