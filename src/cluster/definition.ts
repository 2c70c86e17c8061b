/**
 * The cluster definition (`cluster-definition.json`, `"version": "cohort/v2"`): what the operators
 * agree on before the DKG. Hashed like Charon's: `config_hash` and `definition_hash` are SSZ
 * hash_tree_roots of the containers in ./ssz.ts; each operator signs `config_hash` with its identity key.
 * `cohort/v2` adds the network's genesis time and Capella fork to `network`; `cohort/v1`
 * definitions (and locks) are still read and verified with v1's containers, never written.
 */
import { randomUUID } from "node:crypto";
import { promises as fsp } from "node:fs";
import { multiaddr } from "@multiformats/multiaddr";
import { z } from "zod";
import { quorumSize } from "../consensus/qbft.js";
import {
  type DepositMessage,
  GWEI_PER_ETH,
  parseExecutionAddress,
  toChecksumAddress,
  withdrawalCredentials,
} from "../eth2/deposit.js";
import { checkNetworkName, isPresetNetwork, type Network, resolveNetwork } from "../eth2/networks.js";
import { bytesEqual, fromHex, toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import type { BlsPublicKey, Gwei, Root } from "../lib/types.js";
import { parsePeerId, verifyIdentitySignature } from "../p2p/identity.js";
import {
  DEFINITION_CONTAINERS,
  MAX_ADDRESS_BYTES,
  MAX_ADDRESSES,
  MAX_CONFIG_SIGNATURE_BYTES,
  MAX_DEPOSIT_AMOUNTS,
  MAX_NAME_BYTES,
  MAX_OPERATORS,
  MAX_VALIDATORS,
} from "./ssz.js";

/** The `version` field of every definition this code writes. */
export const DEFINITION_VERSION = "cohort/v2";
/** Every `version` this code reads: v1 lacks the network's genesis time and Capella fork. */
export const DEFINITION_VERSIONS = ["cohort/v1", DEFINITION_VERSION, "cohort/v3"] as const;
/** The `version` of a lifecycle definition (a reshare or an addition of validators). */
export const LIFECYCLE_DEFINITION_VERSION = "cohort/v3";
/** The lifecycle operations a `cohort/v3` definition names. */
export const LIFECYCLE_OPERATIONS = ["reshare", "add-validators"] as const;
/** A lifecycle operation (DESIGN.md § Cluster lifecycle). */
export type LifecycleOperation = (typeof LIFECYCLE_OPERATIONS)[number];
/** A definition format version this code reads. */
export type DefinitionVersion = (typeof DEFINITION_VERSIONS)[number];
/** Default deposit amounts: one 32 ETH deposit, in gwei. */
export const DEFAULT_DEPOSIT_AMOUNTS_GWEI: readonly Gwei[] = [32n * GWEI_PER_ETH];
/** Smallest cluster for a real network; devnet may go below it with a warning. */
export const MIN_OPERATORS = 3;
/** Smallest single deposit, gwei (consensus-specs `MIN_DEPOSIT_AMOUNT`). */
export const MIN_DEPOSIT_GWEI = 1n * GWEI_PER_ETH;
/** Largest single deposit without compounding, gwei (`MAX_EFFECTIVE_BALANCE`). */
export const MAX_DEPOSIT_GWEI = 32n * GWEI_PER_ETH;
/** Largest single deposit with 0x02 compounding credentials, gwei (`MAX_EFFECTIVE_BALANCE_ELECTRA`, EIP-7251). */
export const MAX_COMPOUNDING_DEPOSIT_GWEI = 2048n * GWEI_PER_ETH;
/** The deposit amounts of a validator must sum to at least this, gwei (`MIN_ACTIVATION_BALANCE`). */
export const MIN_TOTAL_DEPOSIT_GWEI = 32n * GWEI_PER_ETH;

/** One operator of the cluster, in definition order (operator i holds share index i + 1). */
export interface Operator {
  /** secp256k1 libp2p peer ID, canonical base58 string. */
  peerId: string;
  /** Multiaddr hints, canonical string form; may be empty. */
  addresses: string[];
  /** Identity-key signature over `config_hash` (secp256k1 ECDSA, DER); empty until the operator signs. */
  configSignature: Uint8Array;
}

/** One validator's execution-layer addresses. */
export interface ValidatorConfig {
  /** 20 bytes: withdrawal credentials are built from it (0x01, or 0x02 with compounding). */
  withdrawalAddress: Uint8Array;
  /** 20 bytes. */
  feeRecipient: Uint8Array;
}

/** The network a definition targets, as the definition stores it. */
export interface DefinitionNetwork {
  name: string;
  /** 4 bytes. */
  genesisForkVersion: Uint8Array;
  /** 32 bytes; zero when unknown (custom network before genesis). */
  genesisValidatorsRoot: Root;
  /** Unix seconds of slot 0. Set in `cohort/v2`; absent in `cohort/v1`. */
  genesisTime?: number | undefined;
  /** `CAPELLA_FORK_VERSION`, 4 bytes (EIP-7044 exit domain). Set in `cohort/v2`; absent in `cohort/v1`. */
  capellaForkVersion?: Uint8Array | undefined;
  /** `CAPELLA_FORK_EPOCH`. Set in `cohort/v2`; absent in `cohort/v1`. */
  capellaForkEpoch?: number | undefined;
}

/** A parsed cluster definition. Byte fields are raw bytes; JSON uses 0x-hex and snake_case. */
export interface ClusterDefinition {
  version: DefinitionVersion;
  /** RFC 4122 UUID, lower case. */
  uuid: string;
  name: string;
  /** RFC 3339 / ISO 8601 creation time, e.g. `2025-01-01T00:00:00.000Z`. */
  timestamp: string;
  network: DefinitionNetwork;
  /** t: partial signatures needed; 1 ≤ t ≤ n and 2t > n. */
  threshold: number;
  numValidators: number;
  /** n operators; operator i holds share index i + 1. */
  operators: Operator[];
  /** `numValidators` entries. */
  validators: ValidatorConfig[];
  /** Deposit amounts, gwei, one deposit-data file each. */
  depositAmounts: Gwei[];
  /** 0x02 withdrawal credentials when true, 0x01 otherwise. */
  compounding: boolean;
  /** `cohort/v3` only: what the definition changes in the lock it starts from. */
  lifecycle?: Lifecycle | undefined;
  /** 32 bytes, {@link computeConfigHash}. */
  configHash: Root;
  /** 32 bytes, {@link computeDefinitionHash}. */
  definitionHash: Root;
}

/**
 * The lifecycle fields of a `cohort/v3` definition. A reshare keeps the validators, network and
 * deposits of the previous lock and names a new operator set and threshold; an addition keeps the
 * operators and threshold and appends validators (`validators` lists the previous lock's first).
 */
export interface Lifecycle {
  operation: LifecycleOperation;
  /** `lock_hash` of the lock this definition starts from, 32 bytes. */
  previousLockHash: Root;
  /**
   * Reshare only (empty otherwise): old operators outside the new set that take part. They deal
   * their old shares and approve the definition like every operator; they receive no new share.
   */
  retiringOperators: Operator[];
  /**
   * Reshare only (empty otherwise): peer IDs of operators of both the previous lock and the new
   * set that deal nothing, since they lost their old shares; they receive new shares. JSON
   * `non_dealing_operators`, omitted when empty.
   */
  nonDealing: string[];
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function networkValue(def: ClusterDefinition) {
  const net = def.network;
  const v1 = {
    name: utf8(net.name),
    genesis_fork_version: net.genesisForkVersion,
    genesis_validators_root: net.genesisValidatorsRoot,
  };
  if (def.version === "cohort/v1") return v1;
  if (net.genesisTime === undefined || net.capellaForkVersion === undefined || net.capellaForkEpoch === undefined) {
    throw new TypeError(`a ${def.version} definition needs network.genesis_time and the Capella fork`);
  }
  return {
    ...v1,
    genesis_time: net.genesisTime,
    capella_fork_version: net.capellaForkVersion,
    capella_fork_epoch: net.capellaForkEpoch,
  };
}

function lifecycleValue(def: ClusterDefinition, withSignatures: boolean) {
  if (def.version !== "cohort/v3") return {};
  const l = def.lifecycle;
  if (l === undefined) throw new TypeError("a cohort/v3 definition needs its lifecycle fields");
  return {
    operation: utf8(l.operation),
    previous_lock_hash: l.previousLockHash,
    retiring_operators: l.retiringOperators.map((o) => ({
      peer_id: utf8(o.peerId),
      addresses: o.addresses.map(utf8),
      ...(withSignatures ? { config_signature: o.configSignature } : {}),
    })),
    non_dealing_operators: l.nonDealing.map(utf8),
  };
}

function configValue(def: ClusterDefinition) {
  return {
    version: utf8(def.version),
    uuid: utf8(def.uuid),
    name: utf8(def.name),
    timestamp: utf8(def.timestamp),
    network: networkValue(def),
    threshold: def.threshold,
    num_validators: def.numValidators,
    validators: def.validators.map((v) => ({ withdrawal_address: v.withdrawalAddress, fee_recipient: v.feeRecipient })),
    deposit_amounts: def.depositAmounts,
    compounding: def.compounding,
  };
}

/**
 * `config_hash`: hash_tree_root of the version's `config` container (`DEFINITION_CONTAINERS`,
 * ./ssz.ts) over everything the operators agree on: no config signatures, no hashes. Each operator signs it.
 * @returns 32 bytes
 * @throws RangeError/TypeError when a field exceeds its SSZ limit or has a wrong length, or a
 *   `cohort/v2` definition lacks its genesis time or Capella fork
 */
export function computeConfigHash(def: ClusterDefinition): Root {
  const value = {
    ...configValue(def),
    operators: def.operators.map((o) => ({ peer_id: utf8(o.peerId), addresses: o.addresses.map(utf8) })),
    ...lifecycleValue(def, false),
  };
  // the value matches the version's container: networkValue gives v1's network fields or v2's
  return DEFINITION_CONTAINERS[def.version].config.hashTreeRoot(value as never) as Root;
}

/**
 * `definition_hash`: hash_tree_root of the version's `full` container (`DEFINITION_CONTAINERS`,
 * ./ssz.ts) over everything, including each operator's `config_signature` and the stored `config_hash`. The
 * DKG binds its session to it.
 * @returns 32 bytes
 * @throws RangeError/TypeError as {@link computeConfigHash}
 */
export function computeDefinitionHash(def: ClusterDefinition): Root {
  const value = {
    ...configValue(def),
    operators: def.operators.map((o) => ({
      peer_id: utf8(o.peerId),
      addresses: o.addresses.map(utf8),
      config_signature: o.configSignature,
    })),
    ...lifecycleValue(def, true),
    config_hash: def.configHash,
  };
  return DEFINITION_CONTAINERS[def.version].full.hashTreeRoot(value as never) as Root;
}

/**
 * The definition's network with everything signing needs: the preset's values for a preset
 * network, else what the definition holds (a `cohort/v1` custom network has no genesis time or
 * Capella fork; `cohort run --genesis-time` supplies the former).
 */
export function definitionNetwork(def: ClusterDefinition): Network {
  const net = def.network;
  const preset = isPresetNetwork(net.name) ? resolveNetwork(net.name) : undefined;
  return {
    name: net.name,
    genesisForkVersion: net.genesisForkVersion,
    genesisValidatorsRoot: net.genesisValidatorsRoot,
    capellaForkVersion: net.capellaForkVersion ?? preset?.capellaForkVersion,
    capellaForkEpoch: net.capellaForkEpoch ?? preset?.capellaForkEpoch,
    genesisTime: net.genesisTime ?? preset?.genesisTime,
    chainId: preset?.chainId,
  };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function isIsoTime(s: string): boolean {
  return s.length <= 64 && /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s));
}

/** The default threshold ⌈2n/3⌉ for n operators. */
export function defaultThreshold(n: number): number {
  return Math.ceil((2 * n) / 3);
}

/**
 * Parses an operator given as `peerId` or `peerId@multiaddr[@multiaddr…]` (address hints).
 * @throws InputError naming `field` for a malformed peer ID or multiaddr, or a hint whose /p2p/ part names another peer
 */
export function parseOperatorSpec(spec: string, field: string): { peerId: string; addresses: string[] } {
  const [id = "", ...addrs] = spec.trim().split("@");
  const peerId = parsePeerId(id, field);
  return { peerId, addresses: addrs.map((a, i) => parseMultiaddrHint(a, peerId, `${field}.addresses[${i}]`)) };
}

function parseMultiaddrHint(value: string, peerId: string, field: string): string {
  let canonical: string;
  try {
    canonical = multiaddr(value).toString();
  } catch (err) {
    throw new InputError(field, `"${field}" is not a valid multiaddr: ${value}`, { cause: err });
  }
  if (Buffer.byteLength(canonical, "utf8") > MAX_ADDRESS_BYTES) {
    throw new InputError(field, `"${field}" is longer than ${MAX_ADDRESS_BYTES} bytes`);
  }
  const p2p = /\/p2p\/([^/]+)/.exec(canonical);
  if (p2p !== null && p2p[1] !== peerId) {
    throw new InputError(field, `"${field}" names peer ${p2p[1]}, not the operator ${peerId}`);
  }
  return canonical;
}

/** Options for {@link createDefinition}. */
export interface CreateDefinitionOpts {
  name: string;
  /** n ≥ 1 operators, each `peerId` or `peerId@multiaddr`; order fixes the share indices. */
  operators: string[];
  /** Defaults to ⌈2n/3⌉. */
  threshold?: number | undefined;
  numValidators: number;
  network: Network;
  /** One address for every validator, or one per validator; 0x-hex with valid EIP-55 checksum when mixed case. */
  withdrawalAddresses: string[];
  /** As `withdrawalAddresses`; defaults to the withdrawal addresses. */
  feeRecipients?: string[] | undefined;
  /** Gwei; defaults to {@link DEFAULT_DEPOSIT_AMOUNTS_GWEI}. */
  depositAmountsGwei?: Gwei[] | undefined;
  compounding?: boolean | undefined;
  /** Allow n < 3 (devnet): a warning instead of an error. */
  allowSmall?: boolean | undefined;
  /** Fixed UUID (tests, golden files); random by default. */
  uuid?: string | undefined;
  /** Fixed ISO 8601 timestamp (tests, golden files); now by default. */
  timestamp?: string | undefined;
}

/** A new definition and the warnings the caller should show (e.g. a devnet with n < 3). */
export interface CreatedDefinition {
  definition: ClusterDefinition;
  warnings: string[];
}

/**
 * Builds an unsigned definition from operator input and computes both hashes. Operators then
 * sign it with {@link signDefinition}.
 * @throws InputError naming the flag/field: "operators", "threshold", "validators",
 *   "withdrawal-address", "fee-recipient", "deposit-amounts", "name", "network"
 */
export function createDefinition(opts: CreateDefinitionOpts): CreatedDefinition {
  const operators = opts.operators.map((spec, i) => ({
    ...parseOperatorSpec(spec, `operators[${i}]`),
    configSignature: new Uint8Array(0),
  }));
  const n = operators.length;
  const numValidators = opts.numValidators;
  if (!Number.isSafeInteger(numValidators) || numValidators < 1 || numValidators > MAX_VALIDATORS) {
    throw new InputError(
      "validators",
      `"validators" must be an integer from 1 to ${MAX_VALIDATORS}, got ${numValidators}`,
    );
  }
  const withdrawal = expandAddresses(opts.withdrawalAddresses, numValidators, "withdrawal-address");
  const fee =
    opts.feeRecipients === undefined || opts.feeRecipients.length === 0
      ? withdrawal
      : expandAddresses(opts.feeRecipients, numValidators, "fee-recipient");
  if (opts.uuid !== undefined && !UUID_RE.test(opts.uuid)) {
    throw new InputError("uuid", `"uuid" must be a lower-case RFC 4122 UUID, got "${opts.uuid}"`);
  }
  if (opts.timestamp !== undefined && !isIsoTime(opts.timestamp)) {
    throw new InputError("timestamp", `"timestamp" must be an ISO 8601 time, got "${opts.timestamp}"`);
  }
  const def: ClusterDefinition = {
    version: DEFINITION_VERSION,
    uuid: opts.uuid ?? randomUUID(),
    name: opts.name,
    timestamp: opts.timestamp ?? new Date().toISOString(),
    network: createNetwork(opts.network),
    threshold: opts.threshold ?? defaultThreshold(n),
    numValidators,
    operators,
    validators: withdrawal.map((w, i) => ({ withdrawalAddress: w, feeRecipient: fee[i]! })),
    depositAmounts: [...(opts.depositAmountsGwei ?? DEFAULT_DEPOSIT_AMOUNTS_GWEI)],
    compounding: opts.compounding ?? false,
    configHash: new Uint8Array(32) as Root,
    definitionHash: new Uint8Array(32) as Root,
  };
  const warnings = checkDefinitionRules(def, {
    allowSmall: opts.allowSmall ?? false,
    fields: {
      name: "name",
      operators: "operators",
      threshold: "threshold",
      validators: "validators",
      withdrawalAddress: () => "withdrawal-address",
      depositAmounts: "deposit-amounts",
      network: "network",
    },
  });
  def.configHash = computeConfigHash(def);
  def.definitionHash = computeDefinitionHash(def);
  return { definition: def, warnings };
}

function createNetwork(net: Network): DefinitionNetwork {
  if (net.genesisTime === undefined) {
    throw new InputError("genesis-time", `network ${net.name} is not a preset: give --genesis-time (unix seconds)`);
  }
  if (net.capellaForkVersion === undefined || net.capellaForkEpoch === undefined) {
    throw new InputError(
      "capella-fork-version",
      `network ${net.name} is not a preset: give --capella-fork-version (and --capella-fork-epoch, default 0)`,
    );
  }
  return {
    name: net.name,
    genesisForkVersion: net.genesisForkVersion,
    genesisValidatorsRoot: net.genesisValidatorsRoot,
    genesisTime: net.genesisTime,
    capellaForkVersion: net.capellaForkVersion,
    capellaForkEpoch: net.capellaForkEpoch,
  };
}

function expandAddresses(values: string[], numValidators: number, field: string): Uint8Array[] {
  const list = values.map((v) => v.trim()).filter((v) => v.length > 0);
  if (list.length !== 1 && list.length !== numValidators) {
    throw new InputError(
      field,
      `"${field}" must be one address or one per validator (${numValidators}), got ${list.length}`,
    );
  }
  const parsed = list.map((v) => parseExecutionAddress(v, field));
  return list.length === 1 ? Array.from({ length: numValidators }, () => parsed[0]!) : parsed;
}

interface RuleFields {
  name: string;
  operators: string;
  threshold: string;
  validators: string;
  withdrawalAddress: (i: number) => string;
  depositAmounts: string;
  network: string;
}

const JSON_FIELDS: RuleFields = {
  name: "name",
  operators: "operators",
  threshold: "threshold",
  validators: "validators",
  withdrawalAddress: (i) => `validators[${i}].withdrawal_address`,
  depositAmounts: "deposit_amounts",
  network: "network",
};

/**
 * The rules every definition obeys, whether created or parsed. Returns warnings; throws on a violation.
 * `fields` names the CLI flags when creating and the JSON paths when parsing.
 */
function checkDefinitionRules(def: ClusterDefinition, opts: { allowSmall: boolean; fields: RuleFields }): string[] {
  const f = opts.fields;
  const warnings: string[] = [];
  const nameBytes = Buffer.byteLength(def.name, "utf8");
  if (def.name.trim().length === 0 || nameBytes > MAX_NAME_BYTES) {
    throw new InputError(f.name, `"${f.name}" must be 1-${MAX_NAME_BYTES} bytes and not blank`);
  }
  checkNetworkName(def.network.name, `${f.network}.name`);
  if (isPresetNetwork(def.network.name)) {
    const preset = resolveNetwork(def.network.name);
    if (!bytesEqual(preset.genesisForkVersion, def.network.genesisForkVersion)) {
      throw new InputError(
        `${f.network}.genesis_fork_version`,
        `"${f.network}.genesis_fork_version" ${toHex(def.network.genesisForkVersion)} is not ${def.network.name}'s ${toHex(preset.genesisForkVersion)}`,
      );
    }
    if (!bytesEqual(preset.genesisValidatorsRoot, def.network.genesisValidatorsRoot)) {
      throw new InputError(
        `${f.network}.genesis_validators_root`,
        `"${f.network}.genesis_validators_root" is not ${def.network.name}'s ${toHex(preset.genesisValidatorsRoot)}`,
      );
    }
    const { genesisTime, capellaForkVersion, capellaForkEpoch } = def.network;
    if (genesisTime !== undefined && genesisTime !== preset.genesisTime) {
      throw new InputError(
        `${f.network}.genesis_time`,
        `"${f.network}.genesis_time" ${genesisTime} is not ${def.network.name}'s ${preset.genesisTime}`,
      );
    }
    if (capellaForkVersion !== undefined && !bytesEqual(capellaForkVersion, preset.capellaForkVersion!)) {
      throw new InputError(
        `${f.network}.capella_fork_version`,
        `"${f.network}.capella_fork_version" ${toHex(capellaForkVersion)} is not ${def.network.name}'s ${toHex(preset.capellaForkVersion!)}`,
      );
    }
    if (capellaForkEpoch !== undefined && capellaForkEpoch !== preset.capellaForkEpoch) {
      throw new InputError(
        `${f.network}.capella_fork_epoch`,
        `"${f.network}.capella_fork_epoch" ${capellaForkEpoch} is not ${def.network.name}'s ${preset.capellaForkEpoch}`,
      );
    }
  }

  const n = def.operators.length;
  if (n < 1 || n > MAX_OPERATORS) {
    throw new InputError(f.operators, `"${f.operators}" must have 1 to ${MAX_OPERATORS} entries, got ${n}`);
  }
  const seen = new Map<string, number>();
  def.operators.forEach((o, i) => {
    const prev = seen.get(o.peerId);
    if (prev !== undefined) {
      throw new InputError(`${f.operators}[${i}]`, `"${f.operators}[${i}]" repeats operator ${prev} (${o.peerId})`);
    }
    seen.set(o.peerId, i);
  });
  if (n < MIN_OPERATORS) {
    const msg = `"${f.operators}" has ${n} operator${n === 1 ? "" : "s"}: real networks need at least ${MIN_OPERATORS} to tolerate a fault; use this for tests only`;
    if (!opts.allowSmall) throw new InputError(f.operators, msg);
    warnings.push(msg);
  }

  const t = def.threshold;
  if (!Number.isSafeInteger(t) || t < 1 || t > n || 2 * t <= n) {
    throw new InputError(
      f.threshold,
      `"${f.threshold}" must satisfy 1 ≤ t ≤ n and 2t > n for n = ${n} (default ${defaultThreshold(n)}), got ${t}`,
    );
  }
  const quorum = quorumSize(n);
  if (t < quorum) {
    warnings.push(
      `threshold ${t} is below the duty agreement quorum ${quorum} for ${n} operators: the cluster signs duties only while ${quorum} nodes are up and their validator clients ask, not ${t}`,
    );
  }

  if (def.validators.length !== def.numValidators) {
    throw new InputError(
      f.validators,
      `"${f.validators}" must have num_validators = ${def.numValidators} entries, got ${def.validators.length}`,
    );
  }
  def.validators.forEach((v, i) => {
    if (v.withdrawalAddress.every((b) => b === 0)) {
      throw new InputError(f.withdrawalAddress(i), `"${f.withdrawalAddress(i)}" must not be the zero address`);
    }
  });

  const amounts = def.depositAmounts;
  if (amounts.length < 1 || amounts.length > MAX_DEPOSIT_AMOUNTS) {
    throw new InputError(
      f.depositAmounts,
      `"${f.depositAmounts}" must have 1 to ${MAX_DEPOSIT_AMOUNTS} entries, got ${amounts.length}`,
    );
  }
  const max = def.compounding ? MAX_COMPOUNDING_DEPOSIT_GWEI : MAX_DEPOSIT_GWEI;
  let total = 0n;
  const seenAmounts = new Set<bigint>();
  for (const a of amounts) {
    if (a < MIN_DEPOSIT_GWEI || a > max) {
      throw new InputError(
        f.depositAmounts,
        `"${f.depositAmounts}" must each be from 1 to ${max / GWEI_PER_ETH} ETH${def.compounding ? "" : " (up to 2048 with compounding)"}, got ${a} gwei`,
      );
    }
    if (seenAmounts.has(a)) {
      throw new InputError(
        f.depositAmounts,
        `"${f.depositAmounts}" repeats ${a} gwei: one deposit-data file per amount`,
      );
    }
    seenAmounts.add(a);
    total += a;
  }
  if (total < MIN_TOTAL_DEPOSIT_GWEI) {
    throw new InputError(f.depositAmounts, `"${f.depositAmounts}" must sum to at least 32 ETH, got ${total} gwei`);
  }
  return warnings;
}

/** Warnings about a parsed definition that is valid but unfit for a real network (n < 3). */
export function definitionWarnings(def: ClusterDefinition): string[] {
  return checkDefinitionRules(def, { allowSmall: true, fields: JSON_FIELDS });
}

/**
 * The withdrawal credentials of validator `index` (0-based): 0x02 with compounding, 0x01 otherwise.
 * @returns 32 bytes
 * @throws RangeError for an index out of range
 */
export function validatorWithdrawalCredentials(def: ClusterDefinition, index: number): Uint8Array {
  const v = def.validators[index];
  if (v === undefined) throw new RangeError(`"validator index" must be below ${def.validators.length}, got ${index}`);
  return withdrawalCredentials(v.withdrawalAddress, def.compounding);
}

/**
 * The deposit messages validator `index` (0-based) signs in the DKG, one per deposit amount in
 * definition order. Sign each at `depositSigningRoot(msg, def.network.genesisForkVersion)`.
 * @param publicKey the validator's group public key, 48-byte compressed G1
 * @throws RangeError for an index out of range
 */
export function depositMessages(def: ClusterDefinition, index: number, publicKey: BlsPublicKey): DepositMessage[] {
  const wc = validatorWithdrawalCredentials(def, index);
  return def.depositAmounts.map((amountGwei) => ({ pubkey: publicKey, withdrawalCredentials: wc, amountGwei }));
}

// ---- JSON codec ----

const hexBytes = (len?: number) =>
  z
    .string()
    .regex(
      len === undefined ? /^0x([0-9a-fA-F]{2})*$/ : new RegExp(`^0x[0-9a-fA-F]{${2 * len}}$`),
      len === undefined ? "must be 0x-prefixed hex" : `must be ${len} bytes of 0x-prefixed hex`,
    );

const uint64String = (what: string) =>
  z
    .string()
    .regex(/^(0|[1-9]\d{0,15})$/, `must be a decimal string of ${what}`)
    .refine((v) => Number.isSafeInteger(Number(v)), `must be at most ${Number.MAX_SAFE_INTEGER}`);

const NetworkJsonV1 = z.strictObject({
  name: z.string(),
  genesis_fork_version: hexBytes(4),
  genesis_validators_root: hexBytes(32),
});

const NetworkJsonV2 = z.strictObject({
  ...NetworkJsonV1.shape,
  genesis_time: uint64String("unix seconds"),
  capella_fork_version: hexBytes(4),
  capella_fork_epoch: uint64String("an epoch"),
});

const OperatorJson = z.strictObject({
  peer_id: z.string(),
  addresses: z.array(z.string()).max(MAX_ADDRESSES),
  config_signature: z
    .union([z.literal(""), hexBytes()])
    .refine(
      (s) => s.length <= 2 + 2 * MAX_CONFIG_SIGNATURE_BYTES,
      `must be at most ${MAX_CONFIG_SIGNATURE_BYTES} bytes`,
    ),
});

const DefinitionJson = z.strictObject({
  version: z.enum(DEFINITION_VERSIONS, { error: `must be one of ${DEFINITION_VERSIONS.join(", ")}` }),
  uuid: z.string().regex(UUID_RE, "must be a lower-case UUID"),
  name: z.string(),
  timestamp: z.string().refine(isIsoTime, "must be an ISO 8601 time"),
  // checked by the schema of the definition's version, below
  network: z.unknown(),
  threshold: z.number().int().min(1),
  num_validators: z.number().int().min(1).max(MAX_VALIDATORS),
  operators: z.array(OperatorJson).min(1).max(MAX_OPERATORS),
  validators: z
    .array(z.strictObject({ withdrawal_address: z.string(), fee_recipient: z.string() }))
    .max(MAX_VALIDATORS),
  deposit_amounts: z
    .array(z.string().regex(/^[1-9]\d{0,19}$/, "must be a decimal string of gwei"))
    .min(1)
    .max(MAX_DEPOSIT_AMOUNTS),
  compounding: z.boolean(),
  // cohort/v3 only
  operation: z.enum(LIFECYCLE_OPERATIONS, { error: `must be one of ${LIFECYCLE_OPERATIONS.join(", ")}` }).optional(),
  previous_lock_hash: hexBytes(32).optional(),
  retiring_operators: z.array(OperatorJson).max(MAX_OPERATORS).optional(),
  non_dealing_operators: z.array(z.string().max(128)).max(MAX_OPERATORS).optional(),
  config_hash: hexBytes(32),
  definition_hash: hexBytes(32),
});

/** The JSON form of a definition (`cluster-definition.json`). */
export type ClusterDefinitionJson = Omit<z.infer<typeof DefinitionJson>, "network"> & {
  network: z.infer<typeof NetworkJsonV1> & Partial<z.infer<typeof NetworkJsonV2>>;
};

/** Renders a zod path as `operators[1].peer_id`. */
export function formatPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out.length === 0 ? String(p) : `.${String(p)}`;
  }
  return out.length === 0 ? "(root)" : out;
}

/** Throws the first zod issue as an InputError naming the field path (prefixed with `prefix`). */
export function zodInputError(error: z.ZodError, prefix = ""): InputError {
  const issue = error.issues[0];
  const field = formatPath(issue?.path ?? [], prefix);
  return new InputError(field, `"${field}" ${issue?.message ?? "is invalid"}`, { cause: error });
}

/**
 * Parses and validates a definition from its JSON value (not its text): shape (zod), peer IDs,
 * multiaddrs, EIP-55 addresses, network presets, threshold rule and deposit amounts. It does NOT
 * check hashes or signatures: see {@link verifyDefinition}. n < 3 is accepted (devnet): see
 * {@link definitionWarnings}.
 * @param prefix path prefix for error fields, e.g. "definition" inside a lock
 * @throws InputError naming the field path, e.g. `"operators[1].peer_id" is not a valid peer ID`
 */
export function parseDefinition(json: unknown, prefix = ""): ClusterDefinition {
  const r = DefinitionJson.safeParse(json);
  if (!r.success) throw zodInputError(r.error, prefix);
  const j = r.data;
  const p = (s: string) => (prefix.length === 0 ? s : `${prefix}.${s}`);
  const rn = (j.version === "cohort/v1" ? NetworkJsonV1 : NetworkJsonV2).safeParse(j.network);
  if (!rn.success) throw zodInputError(rn.error, p("network"));
  const net = rn.data as z.infer<typeof NetworkJsonV1> & Partial<z.infer<typeof NetworkJsonV2>>;
  // Hashes cover the strings as written, so only canonical forms are accepted: a re-encoding
  // by another tool would otherwise change the hashes without changing the meaning.
  const operators: Operator[] = j.operators.map((o, i) => parseOperatorJson(o, p(`operators[${i}]`)));
  let lifecycle: Lifecycle | undefined;
  const lifecycleKeys = ["operation", "previous_lock_hash", "retiring_operators"] as const;
  if (j.version === "cohort/v3") {
    for (const k of lifecycleKeys) {
      if (j[k] === undefined) throw new InputError(p(k), `"${p(k)}" is required in a cohort/v3 definition`);
    }
    lifecycle = {
      operation: j.operation!,
      previousLockHash: fromHex(j.previous_lock_hash!) as Root,
      retiringOperators: j.retiring_operators!.map((o, i) => parseOperatorJson(o, p(`retiring_operators[${i}]`))),
      nonDealing: j.non_dealing_operators ?? [],
    };
    for (const [i, id] of lifecycle.nonDealing.entries()) {
      const f = p(`non_dealing_operators[${i}]`);
      if (lifecycle.operation !== "reshare")
        throw new InputError(f, `"${f}": only a reshare has non-dealing operators`);
      if (!operators.some((o) => o.peerId === id))
        throw new InputError(f, `"${f}" ${id} is not an operator of the new set`);
      if (lifecycle.nonDealing.indexOf(id) !== i) throw new InputError(f, `"${f}" ${id} is listed twice`);
    }
    if (lifecycle.operation === "add-validators" && lifecycle.retiringOperators.length > 0) {
      throw new InputError(
        p("retiring_operators"),
        `"${p("retiring_operators")}" must be empty when adding validators`,
      );
    }
    const ids = [...operators, ...lifecycle.retiringOperators].map((o) => o.peerId);
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    if (dup !== undefined) throw new InputError(p("retiring_operators"), `operator ${dup} is listed twice`);
  } else {
    for (const k of [...lifecycleKeys, "non_dealing_operators"] as const) {
      if (j[k] !== undefined) throw new InputError(p(k), `"${p(k)}" is only allowed in a cohort/v3 definition`);
    }
  }
  const validators = j.validators.map((v, i) => ({
    withdrawalAddress: parseExecutionAddress(v.withdrawal_address, p(`validators[${i}].withdrawal_address`)),
    feeRecipient: parseExecutionAddress(v.fee_recipient, p(`validators[${i}].fee_recipient`)),
  }));
  const def: ClusterDefinition = {
    version: j.version,
    uuid: j.uuid,
    name: j.name,
    timestamp: j.timestamp,
    network: {
      name: net.name,
      genesisForkVersion: fromHex(net.genesis_fork_version),
      genesisValidatorsRoot: fromHex(net.genesis_validators_root) as Root,
      ...(net.genesis_time === undefined
        ? {}
        : {
            genesisTime: Number(net.genesis_time),
            capellaForkVersion: fromHex(net.capella_fork_version!),
            capellaForkEpoch: Number(net.capella_fork_epoch),
          }),
    },
    threshold: j.threshold,
    numValidators: j.num_validators,
    operators,
    validators,
    depositAmounts: j.deposit_amounts.map((a) => BigInt(a)),
    compounding: j.compounding,
    ...(lifecycle === undefined ? {} : { lifecycle }),
    configHash: fromHex(j.config_hash) as Root,
    definitionHash: fromHex(j.definition_hash) as Root,
  };
  const fields: RuleFields = {
    name: p("name"),
    operators: p("operators"),
    threshold: p("threshold"),
    validators: p("validators"),
    withdrawalAddress: (i) => p(`validators[${i}].withdrawal_address`),
    depositAmounts: p("deposit_amounts"),
    network: p("network"),
  };
  checkDefinitionRules(def, { allowSmall: true, fields });
  return def;
}

function parseOperatorJson(o: z.infer<typeof OperatorJson>, prefix: string): Operator {
  const peerField = `${prefix}.peer_id`;
  const peerId = parsePeerId(o.peer_id, peerField);
  if (peerId !== o.peer_id) throw new InputError(peerField, `"${peerField}" must be in canonical form ${peerId}`);
  return {
    peerId,
    addresses: o.addresses.map((a, k) => {
      const field = `${prefix}.addresses[${k}]`;
      const canonical = parseMultiaddrHint(a, peerId, field);
      if (canonical !== a) throw new InputError(field, `"${field}" must be in canonical form ${canonical}`);
      return canonical;
    }),
    configSignature: o.config_signature === "" ? new Uint8Array(0) : fromHex(o.config_signature),
  };
}

const operatorToJson = (o: Operator) => ({
  peer_id: o.peerId,
  addresses: [...o.addresses],
  config_signature: o.configSignature.length === 0 ? "" : toHex(o.configSignature),
});

/** The JSON value of a definition, keys in the documented order, bytes as 0x-hex, addresses EIP-55. */
export function definitionToJson(def: ClusterDefinition): ClusterDefinitionJson {
  return {
    version: def.version,
    uuid: def.uuid,
    name: def.name,
    timestamp: def.timestamp,
    network: {
      name: def.network.name,
      genesis_fork_version: toHex(def.network.genesisForkVersion),
      genesis_validators_root: toHex(def.network.genesisValidatorsRoot),
      ...(def.version === "cohort/v1"
        ? {}
        : {
            genesis_time: String(def.network.genesisTime),
            capella_fork_version: toHex(def.network.capellaForkVersion!),
            capella_fork_epoch: String(def.network.capellaForkEpoch),
          }),
    },
    threshold: def.threshold,
    num_validators: def.numValidators,
    operators: def.operators.map(operatorToJson),
    validators: def.validators.map((v) => ({
      withdrawal_address: toChecksumAddress(v.withdrawalAddress),
      fee_recipient: toChecksumAddress(v.feeRecipient),
    })),
    deposit_amounts: def.depositAmounts.map((a) => a.toString()),
    compounding: def.compounding,
    ...(def.lifecycle === undefined
      ? {}
      : {
          operation: def.lifecycle.operation,
          previous_lock_hash: toHex(def.lifecycle.previousLockHash),
          retiring_operators: def.lifecycle.retiringOperators.map(operatorToJson),
          ...(def.lifecycle.nonDealing.length === 0 ? {} : { non_dealing_operators: def.lifecycle.nonDealing }),
        }),
    config_hash: toHex(def.configHash),
    definition_hash: toHex(def.definitionHash),
  };
}

/** `cluster-definition.json` text: 2-space pretty JSON with a trailing newline, stable key order. */
export function serializeDefinition(def: ClusterDefinition): string {
  return `${JSON.stringify(definitionToJson(def), null, 2)}\n`;
}

/**
 * Reads and parses a definition file (JSON text → {@link parseDefinition}).
 * @param field the flag named in errors, "definition" by default
 * @throws InputError naming `field` and the path when unreadable or not JSON; InputError naming the JSON field otherwise
 */
export async function readDefinitionFile(path: string, field = "definition"): Promise<ClusterDefinition> {
  return parseDefinition(await readJsonFile(path, field));
}

/**
 * Reads a JSON file.
 * @throws InputError naming `field` and the path when unreadable or not JSON
 */
export async function readJsonFile(path: string, field: string): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(path, "utf8");
  } catch (err) {
    throw new InputError(field, `"${field}": cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`, {
      cause: err,
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(field, `"${field}": ${path} is not valid JSON`, { cause: err });
  }
}

/**
 * Checks that `config_hash` and `definition_hash` match the contents.
 * @throws InputError "config_hash" or "definition_hash" (prefixed) on a mismatch
 */
export function verifyDefinitionHashes(def: ClusterDefinition, prefix = ""): void {
  const p = (s: string) => (prefix.length === 0 ? s : `${prefix}.${s}`);
  const config = computeConfigHash(def);
  if (!bytesEqual(config, def.configHash)) {
    throw new InputError(
      p("config_hash"),
      `"${p("config_hash")}" ${toHex(def.configHash)} does not match the definition's contents (${toHex(config)})`,
    );
  }
  const full = computeDefinitionHash(def);
  if (!bytesEqual(full, def.definitionHash)) {
    throw new InputError(
      p("definition_hash"),
      `"${p("definition_hash")}" ${toHex(def.definitionHash)} does not match the definition's contents (${toHex(full)})`,
    );
  }
}

/**
 * Verifies a definition is ready for the DKG: both hashes match the contents and every operator
 * has signed `config_hash` with its identity key.
 * @throws InputError naming the field (`config_hash`, `definition_hash`) or the operator
 *   (`operators[i].config_signature`, with its peer ID) that fails
 */
export async function verifyDefinition(def: ClusterDefinition, prefix = ""): Promise<void> {
  verifyDefinitionHashes(def, prefix);
  const approvers = [
    ...def.operators.map((o, i) => ({ o, i, list: "operators", who: "operator" })),
    ...(def.lifecycle?.retiringOperators ?? []).map((o, i) => ({
      o,
      i,
      list: "retiring_operators",
      who: "retiring operator",
    })),
  ];
  for (const { o, i, list, who } of approvers) {
    const field = prefix.length === 0 ? `${list}[${i}].config_signature` : `${prefix}.${list}[${i}].config_signature`;
    if (o.configSignature.length === 0) {
      throw new InputError(field, `${who} ${i} (${o.peerId}) has not signed the definition ("${field}" is empty)`);
    }
    if (!(await verifyIdentitySignature(o.peerId, def.configHash, o.configSignature))) {
      throw new InputError(field, `${who} ${i} (${o.peerId}): "${field}" does not verify over config_hash`);
    }
  }
}

/** The part of an identity {@link signDefinition} needs (src/p2p/identity.ts `Identity`). */
export interface DefinitionSigner {
  readonly peerId: string;
  sign(msg: Uint8Array): Promise<Uint8Array>;
}

/**
 * Adds `identity`'s signature over `config_hash` to its operator (or retiring operator) entry and recomputes
 * `definition_hash`. The input is not modified.
 * @throws InputError "data-dir" when `identity` is not an operator of the definition (naming its
 *   peer ID); InputError "config_hash"/"definition_hash" when the hashes do not match the contents
 */
export async function signDefinition(def: ClusterDefinition, identity: DefinitionSigner): Promise<ClusterDefinition> {
  verifyDefinitionHashes(def);
  const index = def.operators.findIndex((o) => o.peerId === identity.peerId);
  const retiring = def.lifecycle?.retiringOperators ?? [];
  const rIndex = retiring.findIndex((o) => o.peerId === identity.peerId);
  if (index < 0 && rIndex < 0) {
    throw new InputError("data-dir", `identity ${identity.peerId} is not an operator of definition "${def.name}"`);
  }
  const signature = await identity.sign(def.configHash);
  const sign = (list: Operator[], at: number) =>
    list.map((o, i) => (i === at ? { ...o, configSignature: signature } : o));
  const operators = sign(def.operators, index);
  const signed: ClusterDefinition = {
    ...def,
    operators,
    ...(def.lifecycle === undefined
      ? {}
      : { lifecycle: { ...def.lifecycle, retiringOperators: sign(retiring, rIndex) } }),
  };
  signed.definitionHash = computeDefinitionHash(signed);
  return signed;
}
