/**
 * The beacon chain's wall clock: slot and epoch from the genesis time (consensus-specs phase0
 * beacon-chain.md § Time parameters, `compute_start_slot_at_epoch`). Genesis times of the presets
 * come from each network's `genesis.ssz` / config (mainnet: configs/mainnet.yaml `MIN_GENESIS_TIME`
 * + `GENESIS_DELAY`; hoodi, sepolia, holesky: eth-clients/<network> `genesis_time`).
 */
import { SLOTS_PER_EPOCH } from "@lodestar/params";
import { InputError } from "../lib/errors.js";
import { isPresetNetwork, type PresetNetworkName } from "./networks.js";

/** Seconds per slot on every preset network (consensus-specs `SECONDS_PER_SLOT`). */
export const SECONDS_PER_SLOT = 12;

/** Genesis time of each preset network, unix seconds. */
export const PRESET_GENESIS_TIME: Readonly<Record<PresetNetworkName, number>> = {
  mainnet: 1606824023,
  hoodi: 1742213400,
  sepolia: 1655733600,
  holesky: 1695902400,
};

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
 * The genesis time of a network: the preset's, else `override` (a custom network's, given by the
 * operator).
 * @throws InputError "genesis-time" for a custom network without one
 */
export function genesisTimeOf(networkName: string, override?: number): number {
  if (override !== undefined) return override;
  if (isPresetNetwork(networkName)) return PRESET_GENESIS_TIME[networkName];
  throw new InputError(
    "genesis-time",
    `network "${networkName}" is not a preset: give its genesis time (--genesis-time, unix seconds)`,
  );
}
