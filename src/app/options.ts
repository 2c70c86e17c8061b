/** Option parsers shared by the CLI and the config schemas: each throws InputError naming the flag. */
import { InputError } from "../lib/errors.js";

/** A `host:port` listen address. */
export interface ListenAddress {
  host: string;
  port: number;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Longest duration a flag takes, ms: Node's setTimeout fires at once for anything longer (2^31 − 1 ms, about 24.8 days). */
export const MAX_DURATION_MS = 2_147_483_647;

/**
 * Parses a duration such as `500ms`, `30s`, `10m` or `1h` (a bare number is seconds), at most
 * {@link MAX_DURATION_MS}.
 * @returns milliseconds
 * @throws InputError naming `flag`
 */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InputError(flag, `${flag} must be a duration like 30s, 10m or 1h, got "${value}"`);
  const ms = Number(m[1]) * UNITS[m[2] ?? "s"]!;
  if (!(ms > 0) || !Number.isFinite(ms)) throw new InputError(flag, `${flag} must be positive, got "${value}"`);
  if (ms > MAX_DURATION_MS) throw new InputError(flag, `${flag} must be at most 24 days, got "${value}"`);
  return ms;
}

/** pino's levels, quietest last. */
const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/**
 * Checks a log level flag against pino's levels.
 * @throws InputError naming `flag`
 */
export function parseLogLevel(value: string, flag: string): string {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new InputError(flag, `${flag} must be one of ${LOG_LEVELS.join(", ")}, got "${value}"`);
  }
  return value;
}

/**
 * Parses a positive integer flag.
 * @throws InputError naming `flag`
 */
export function parsePositiveInt(value: string, flag: string, max = 1_000_000): number {
  if (!/^\d+$/.test(value.trim())) throw new InputError(flag, `${flag} must be a positive integer, got "${value}"`);
  const n = Number(value);
  if (n < 1 || n > max) throw new InputError(flag, `${flag} must be between 1 and ${max}, got ${n}`);
  return n;
}

/**
 * Parses `host:port` (IPv4, hostname, or `[v6]:port`).
 * @throws InputError naming `flag`
 */
export function parseListenAddress(value: string, flag: string): ListenAddress {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port > 65535) throw new InputError(flag, `${flag} must be host:port, e.g. 127.0.0.1:9000, got "${value}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}
