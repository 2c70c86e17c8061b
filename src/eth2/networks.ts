/**
 * Ethereum consensus network presets (genesis time, genesis fork version, genesis validators root,
 * Capella fork version and epoch) and custom networks. Values from consensus-specs
 * `configs/mainnet.yaml` (mainnet genesis time: `MIN_GENESIS_TIME` + `GENESIS_DELAY`) and the
 * eth-clients/{sepolia,holesky,hoodi} network configs and `genesis.ssz`.
 */
import { fromHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import type { Root } from "../lib/types.js";

/** Names of the built-in network presets. */
export const PRESET_NETWORK_NAMES = ["mainnet", "hoodi", "sepolia", "holesky"] as const;

/** A built-in network preset name. */
export type PresetNetworkName = (typeof PRESET_NETWORK_NAMES)[number];

/** A consensus network as far as signing and deposits need it. */
export interface Network {
  /** Preset name, or the operator-chosen name of a custom network. */
  readonly name: string;
  /** `GENESIS_FORK_VERSION`, 4 bytes. Deposits sign with it (zero genesis validators root). */
  readonly genesisForkVersion: Uint8Array;
  /** `genesis_validators_root`, 32 bytes; all zero for a custom network created before genesis. */
  readonly genesisValidatorsRoot: Root;
  /** `CAPELLA_FORK_VERSION`, 4 bytes: voluntary exits sign with it since EIP-7044. Unknown for a custom network. */
  readonly capellaForkVersion: Uint8Array | undefined;
  /** Execution-layer chain ID, when known. */
  readonly chainId: number | undefined;
  /** The epoch Capella activated, when known: `cohort exit sign`'s default exit epoch (EIP-7044). */
  readonly capellaForkEpoch?: number | undefined;
  /** Unix seconds of slot 0, when known: the consent time windows read the wall-clock slot from it. */
  readonly genesisTime?: number | undefined;
}

interface PresetHex {
  genesisTime: number;
  genesisForkVersion: string;
  genesisValidatorsRoot: string;
  capellaForkVersion: string;
  capellaForkEpoch: number;
  chainId: number;
}

// Cross-checked against ../shared/vectors/deposit/networks.json by test/eth2/networks.test.ts.
const PRESETS: Record<PresetNetworkName, PresetHex> = {
  mainnet: {
    genesisTime: 1606824023,
    genesisForkVersion: "0x00000000",
    genesisValidatorsRoot: "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95",
    capellaForkVersion: "0x03000000",
    capellaForkEpoch: 194048,
    chainId: 1,
  },
  hoodi: {
    genesisTime: 1742213400,
    genesisForkVersion: "0x10000910",
    genesisValidatorsRoot: "0x212f13fc4df078b6cb7db228f1c8307566dcecf900867401a92023d7ba99cb5f",
    capellaForkVersion: "0x40000910",
    capellaForkEpoch: 0,
    chainId: 560048,
  },
  sepolia: {
    genesisTime: 1655733600,
    genesisForkVersion: "0x90000069",
    genesisValidatorsRoot: "0xd8ea171f3c94aea21ebc42a1ed61052acf3f9209c00e4efbaaddac09ed9b8078",
    capellaForkVersion: "0x90000072",
    capellaForkEpoch: 56832,
    chainId: 11155111,
  },
  holesky: {
    genesisTime: 1695902400,
    genesisForkVersion: "0x01017000",
    genesisValidatorsRoot: "0x9143aa7c615a7f7115e2b6aac319c03529df8242ae705fba9df39b79c59fa8b1",
    capellaForkVersion: "0x04017000",
    capellaForkEpoch: 256,
    chainId: 17000,
  },
};

/** Name given to a custom network when the operator names none. */
export const CUSTOM_NETWORK_NAME = "custom";

/** Longest network name accepted, in UTF-8 bytes (the SSZ limit in definition hashing). */
export const MAX_NETWORK_NAME_BYTES = 64;

const ZERO_ROOT = new Uint8Array(32) as Root;

/** True when `name` is one of {@link PRESET_NETWORK_NAMES}. */
export function isPresetNetwork(name: string): name is PresetNetworkName {
  return (PRESET_NETWORK_NAMES as readonly string[]).includes(name);
}

/**
 * The preset network `name` (mainnet, hoodi, sepolia, holesky).
 * @throws InputError "network" for any other name
 */
export function resolveNetwork(name: string): Network {
  if (!isPresetNetwork(name)) {
    throw new InputError(
      "network",
      `"network" must be one of ${PRESET_NETWORK_NAMES.join(", ")} (or give --genesis-fork-version for a custom network), got "${name}"`,
    );
  }
  const p = PRESETS[name];
  return {
    name,
    genesisForkVersion: fromHex(p.genesisForkVersion, "genesis_fork_version", 4),
    genesisValidatorsRoot: fromHex(p.genesisValidatorsRoot, "genesis_validators_root", 32) as Root,
    capellaForkVersion: fromHex(p.capellaForkVersion, "capella_fork_version", 4),
    capellaForkEpoch: p.capellaForkEpoch,
    chainId: p.chainId,
    genesisTime: p.genesisTime,
  };
}

/** Options for {@link customNetwork}; hex strings are 0x-prefixed. */
export interface CustomNetworkOpts {
  /** Defaults to {@link CUSTOM_NETWORK_NAME}; must not be a preset name. */
  name?: string | undefined;
  /** 4 bytes as 0x-hex, e.g. `0x10000910`. */
  genesisForkVersion: string;
  /** 32 bytes as 0x-hex; defaults to all zero (unknown before genesis). */
  genesisValidatorsRoot?: string | undefined;
  /** Unix seconds of slot 0 (required by definitions since `cohort/v2`). */
  genesisTime?: number | undefined;
  /** `CAPELLA_FORK_VERSION`, 4 bytes as 0x-hex: voluntary exits sign with it (EIP-7044). */
  capellaForkVersion?: string | undefined;
  /** `CAPELLA_FORK_EPOCH`; defaults to 0 when `capellaForkVersion` is given. */
  capellaForkEpoch?: number | undefined;
}

/**
 * A custom network from its genesis fork version, and optionally its genesis validators root,
 * genesis time and Capella fork.
 * @throws InputError "genesis-fork-version" / "genesis-validators-root" / "capella-fork-version" on
 *   malformed hex or a wrong length; InputError "genesis-time" / "capella-fork-epoch" when not a
 *   non-negative integer; InputError "network" when the name is empty, too long, or a preset name
 */
export function customNetwork(opts: CustomNetworkOpts): Network {
  const genesisForkVersion = hexInput(opts.genesisForkVersion, "genesis-fork-version", 4);
  const name = opts.name ?? CUSTOM_NETWORK_NAME;
  if (isPresetNetwork(name)) {
    throw new InputError("network", `"network" ${name} is a preset; omit --genesis-fork-version to use it`);
  }
  checkNetworkName(name, "network");
  const genesisValidatorsRoot =
    opts.genesisValidatorsRoot === undefined
      ? ZERO_ROOT
      : (hexInput(opts.genesisValidatorsRoot, "genesis-validators-root", 32) as Root);
  const genesisTime = opts.genesisTime === undefined ? undefined : uint64Input(opts.genesisTime, "genesis-time");
  const capellaForkVersion =
    opts.capellaForkVersion === undefined ? undefined : hexInput(opts.capellaForkVersion, "capella-fork-version", 4);
  if (opts.capellaForkEpoch !== undefined && capellaForkVersion === undefined) {
    throw new InputError("capella-fork-epoch", `"capella-fork-epoch" needs --capella-fork-version`);
  }
  const capellaForkEpoch =
    capellaForkVersion === undefined ? undefined : uint64Input(opts.capellaForkEpoch ?? 0, "capella-fork-epoch");
  return {
    name,
    genesisForkVersion,
    genesisValidatorsRoot,
    capellaForkVersion,
    capellaForkEpoch,
    chainId: undefined,
    genesisTime,
  };
}

function uint64Input(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InputError(field, `"${field}" must be a non-negative integer, got ${value}`);
  }
  return value;
}

/**
 * Checks that a network name is non-empty, at most {@link MAX_NETWORK_NAME_BYTES} UTF-8 bytes, and printable.
 * @throws InputError naming `field`
 */
export function checkNetworkName(name: string, field: string): void {
  if (name.length === 0 || Buffer.byteLength(name, "utf8") > MAX_NETWORK_NAME_BYTES || !/^[\x21-\x7e]+$/.test(name)) {
    throw new InputError(
      field,
      `"${field}" must be 1-${MAX_NETWORK_NAME_BYTES} printable ASCII characters without spaces, got "${name}"`,
    );
  }
}

function hexInput(value: string, field: string, length: number): Uint8Array {
  try {
    return fromHex(value, field, length);
  } catch (err) {
    throw new InputError(field, (err as Error).message, { cause: err });
  }
}
