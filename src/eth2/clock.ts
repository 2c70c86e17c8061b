/**
 * The beacon chain's wall clock: slot and epoch from the genesis time (consensus-specs phase0
 * beacon-chain.md § Time parameters, `compute_start_slot_at_epoch`). Genesis times of the presets
 * come from each network's `genesis.ssz` / config (mainnet: configs/mainnet.yaml `MIN_GENESIS_TIME`
 * + `GENESIS_DELAY`; hoodi, sepolia, holesky: eth-clients/<network> `genesis_time`).
 */
import { SLOTS_PER_EPOCH } from "@lodestar/params";
import { InputError } from "../lib/errors.js";
import { isPresetNetwork, PRESET_NETWORK_NAMES, type PresetNetworkName, resolveNetwork } from "./networks.js";

/** Seconds per slot on every preset network (consensus-specs `SECONDS_PER_SLOT`). */
export const SECONDS_PER_SLOT = 12;

/** Genesis time of each preset network, unix seconds (from networks.ts's presets). */
export const PRESET_GENESIS_TIME: Readonly<Record<PresetNetworkName, number>> = Object.fromEntries(
  PRESET_NETWORK_NAMES.map((n) => [n, resolveNetwork(n).genesisTime as number]),
) as Record<PresetNetworkName, number>;

/** Where the clock reads the time: `Date.now`-like, unix ms. Tests inject a fake. */
export type NowMs = () => number;

/** Slot and epoch now, for time windows. */
export interface SlotClock {
  /** Unix seconds of slot 0. */
  readonly genesisTimeSec: number;
  readonly secondsPerSlot: number;
  /** The current slot (slot 0 before genesis). */
  currentSlot(): number;
  /** The current epoch (epoch 0 before genesis). */
  currentEpoch(): number;
  /** Unix seconds now. */
  nowSec(): number;
}

/**
 * A clock for a network from its genesis time.
 * @param genesisTimeSec unix seconds of slot 0
 * @param now unix ms source (default `Date.now`)
 * @throws RangeError when `genesisTimeSec` or `secondsPerSlot` is not a positive integer
 */
export function slotClock(genesisTimeSec: number, now: NowMs = Date.now, secondsPerSlot = SECONDS_PER_SLOT): SlotClock {
  if (!Number.isSafeInteger(genesisTimeSec) || genesisTimeSec < 0) {
    throw new RangeError(`"genesis_time" must be a non-negative integer, got ${genesisTimeSec}`);
  }
  if (!Number.isSafeInteger(secondsPerSlot) || secondsPerSlot <= 0) {
    throw new RangeError(`"seconds_per_slot" must be a positive integer, got ${secondsPerSlot}`);
  }
  const currentSlot = () => Math.max(0, Math.floor((now() / 1000 - genesisTimeSec) / secondsPerSlot));
  return {
    genesisTimeSec,
    secondsPerSlot,
    currentSlot,
    currentEpoch: () => Math.floor(currentSlot() / SLOTS_PER_EPOCH),
    nowSec: () => Math.floor(now() / 1000),
  };
}

/**
 * The genesis time of a network: the one its definition holds (`cohort/v2`), else the preset's,
 * else `override` (`--genesis-time`, for a `cohort/v1` definition of a custom network).
 * @param network the lock's network (`genesisTime` is set from a `cohort/v2` definition)
 * @throws InputError "genesis-time" for a custom network without one, or an `override` that
 *   differs from the time the definition or preset fixes
 */
export function genesisTimeOf(network: { name: string; genesisTime?: number | undefined }, override?: number): number {
  const known = network.genesisTime ?? (isPresetNetwork(network.name) ? PRESET_GENESIS_TIME[network.name] : undefined);
  if (known !== undefined) {
    if (override !== undefined && override !== known) {
      throw new InputError(
        "genesis-time",
        `"--genesis-time" ${override} is not network ${network.name}'s genesis time ${known}: omit it`,
      );
    }
    return known;
  }
  if (override !== undefined) return override;
  throw new InputError(
    "genesis-time",
    `network "${network.name}" is not a preset and its definition has no genesis time: give --genesis-time (unix seconds)`,
  );
}
