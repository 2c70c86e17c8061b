/** Option parsers shared by the CLI and the config schemas: each throws InputError naming the flag. */
import { customNetwork, type Network, PRESET_NETWORK_NAMES, resolveNetwork } from "../eth2/networks.js";
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

/**
 * Parses a genesis time flag: unix seconds.
 * @throws InputError naming `flag`
 */
export function parseGenesisTime(value: string, flag: string): number {
  if (!/^\d{1,12}$/.test(value)) throw new InputError(flag, `${flag} must be unix seconds, got "${value}"`);
  return Number(value);
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

/** The network flags of `definition create` and `devnet`. */
export interface NetworkFlags {
  network?: string | undefined;
  genesisForkVersion?: string | undefined;
  genesisValidatorsRoot?: string | undefined;
  genesisTime?: string | undefined;
  capellaForkVersion?: string | undefined;
  capellaForkEpoch?: string | undefined;
}

const CUSTOM_ONLY_FLAGS = [
  ["genesisValidatorsRoot", "genesis-validators-root"],
  ["genesisTime", "genesis-time"],
  ["capellaForkVersion", "capella-fork-version"],
  ["capellaForkEpoch", "capella-fork-epoch"],
] as const;

/**
 * The network a definition targets: a preset by `--network`, or a custom network from
 * `--genesis-fork-version`, `--genesis-time` (unix seconds, or `now`: this second), and
 * `--capella-fork-version` (`--capella-fork-epoch` defaults to 0, `--genesis-validators-root` to zero).
 * @param nowMs the clock `--genesis-time now` reads (unix ms)
 * @throws InputError naming the flag: a preset with custom-network flags, a custom network without
 *   its genesis time or Capella fork version, malformed hex or numbers
 */
export function networkFromFlags(flags: NetworkFlags, nowMs: () => number = Date.now): Network {
  if (flags.genesisForkVersion === undefined) {
    for (const [key, flag] of CUSTOM_ONLY_FLAGS) {
      if (flags[key] !== undefined) {
        throw new InputError(flag, `"${flag}" is for a custom network: give --genesis-fork-version too`);
      }
    }
    if (flags.network === undefined) {
      throw new InputError(
        "network",
        `"network" is required: ${PRESET_NETWORK_NAMES.join("|")}, or --genesis-fork-version for a custom network`,
      );
    }
    return resolveNetwork(flags.network);
  }
  const net = customNetwork({
    name: flags.network,
    genesisForkVersion: flags.genesisForkVersion,
    genesisValidatorsRoot: flags.genesisValidatorsRoot,
    genesisTime:
      flags.genesisTime === undefined
        ? undefined
        : flags.genesisTime === "now"
          ? Math.floor(nowMs() / 1000)
          : uintFlag(flags.genesisTime, "genesis-time"),
    capellaForkVersion: flags.capellaForkVersion,
    capellaForkEpoch:
      flags.capellaForkEpoch === undefined ? undefined : uintFlag(flags.capellaForkEpoch, "capella-fork-epoch"),
  });
  if (net.genesisTime === undefined) {
    throw new InputError("genesis-time", `a custom network needs "genesis-time" (--genesis-time unix seconds, or now)`);
  }
  if (net.capellaForkVersion === undefined) {
    throw new InputError(
      "capella-fork-version",
      `a custom network needs "capella-fork-version" (--capella-fork-version, 4 bytes of 0x-hex)`,
    );
  }
  return net;
}

function uintFlag(value: string, flag: string): number {
  if (!/^(0|[1-9]\d{0,15})$/.test(value.trim()) || !Number.isSafeInteger(Number(value.trim()))) {
    throw new InputError(flag, `"${flag}" must be a non-negative integer, got "${value}"`);
  }
  return Number(value.trim());
}
