/**
 * Deposit data: withdrawal credentials (0x01 / 0x02, EIP-7251), `DepositMessage` and `DepositData`
 * roots per consensus-specs phase0 § Deposits, and the staking-deposit-cli `deposit_data-*.json`
 * entry that the Staking Launchpad accepts (ethereum/staking-deposit-cli `credentials.py`).
 */
import { COMPOUNDING_WITHDRAWAL_PREFIX, ETH1_ADDRESS_WITHDRAWAL_PREFIX } from "@lodestar/params";
import { ssz } from "@lodestar/types";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { parsePublicKey, parseSignature, verify } from "../crypto/bls.js";
import { bytesEqual } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import type { BlsPublicKey, BlsSignature, Gwei, Root } from "../lib/types.js";
import { depositDomain, signingRootOf } from "./domain.js";
import type { Network } from "./networks.js";

/** Execution address length, bytes. */
export const EXECUTION_ADDRESS_LENGTH = 20;
/** Withdrawal credentials length, bytes. */
export const WITHDRAWAL_CREDENTIALS_LENGTH = 32;
/** Gwei per ether. */
export const GWEI_PER_ETH = 1_000_000_000n;
/**
 * Version written in `deposit_cli_version`: the last staking-deposit-cli release. The Launchpad
 * rejects files whose version is below its `MIN_DEPOSIT_CLI_VERSION`.
 */
export const DEPOSIT_CLI_VERSION = "2.7.0";

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/**
 * Parses a 0x-prefixed execution address, enforcing the EIP-55 mixed-case checksum when the
 * address is mixed case (all lower or all upper case carries no checksum and is accepted).
 * https://eips.ethereum.org/EIPS/eip-55
 * @returns the 20 address bytes
 * @throws InputError naming `field` when malformed or when the checksum does not match
 */
export function parseExecutionAddress(value: string, field: string): Uint8Array {
  if (typeof value !== "string" || !ADDRESS_RE.test(value)) {
    throw new InputError(field, `"${field}" must be a 0x-prefixed 20-byte hex address, got "${String(value)}"`);
  }
  const body = value.slice(2);
  const bytes = Uint8Array.from(Buffer.from(body, "hex"));
  const mixed = body !== body.toLowerCase() && body !== body.toUpperCase();
  if (mixed && toChecksumAddress(bytes) !== value) {
    throw new InputError(field, `"${field}" has an invalid EIP-55 checksum: ${value}`);
  }
  return bytes;
}

/**
 * EIP-55 mixed-case checksum encoding of a 20-byte address: hex digit i is upper-cased when
 * nibble i of keccak256(lower-case hex) is ≥ 8. https://eips.ethereum.org/EIPS/eip-55
 * @throws RangeError when `address` is not 20 bytes
 */
export function toChecksumAddress(address: Uint8Array): string {
  if (address.length !== EXECUTION_ADDRESS_LENGTH) {
    throw new RangeError(`"address" must be ${EXECUTION_ADDRESS_LENGTH} bytes, got ${address.length}`);
  }
  const lower = Buffer.from(address).toString("hex");
  const hash = keccak_256(new TextEncoder().encode(lower));
  let out = "0x";
  for (let i = 0; i < lower.length; i++) {
    const c = lower[i]!;
    const nibble = (hash[i >> 1]! >> (i % 2 === 0 ? 4 : 0)) & 0x0f;
    out += nibble >= 8 ? c.toUpperCase() : c;
  }
  return out;
}

/**
 * Withdrawal credentials for an execution address: `prefix ‖ 0x00×11 ‖ address`, with prefix
 * 0x01 (`ETH1_ADDRESS_WITHDRAWAL_PREFIX`) or 0x02 when compounding (`COMPOUNDING_WITHDRAWAL_PREFIX`,
 * EIP-7251). https://github.com/ethereum/consensus-specs/blob/dev/specs/electra/beacon-chain.md#withdrawal-prefixes
 * @param address 20 bytes
 * @returns 32 bytes
 * @throws RangeError when `address` is not 20 bytes
 */
export function withdrawalCredentials(address: Uint8Array, compounding: boolean): Uint8Array {
  if (address.length !== EXECUTION_ADDRESS_LENGTH) {
    throw new RangeError(`"withdrawal_address" must be ${EXECUTION_ADDRESS_LENGTH} bytes, got ${address.length}`);
  }
  const out = new Uint8Array(WITHDRAWAL_CREDENTIALS_LENGTH);
  out[0] = compounding ? COMPOUNDING_WITHDRAWAL_PREFIX : ETH1_ADDRESS_WITHDRAWAL_PREFIX;
  out.set(address, 12);
  return out;
}

/** A deposit message: what the validator key signs (consensus-specs `DepositMessage`). */
export interface DepositMessage {
  /** Validator (group) public key, 48-byte compressed G1. */
  pubkey: BlsPublicKey;
  /** 32 bytes, see {@link withdrawalCredentials}. */
  withdrawalCredentials: Uint8Array;
  /** Amount in gwei (must fit in uint64). */
  amountGwei: Gwei;
}

/** A signed deposit with its two roots, as the lock and the deposit-data file carry it. */
export interface DepositDatum extends DepositMessage {
  /** BLS signature over {@link depositSigningRoot}, 96-byte compressed G2. */
  signature: BlsSignature;
  /** hash_tree_root(DepositMessage), 32 bytes. */
  depositMessageRoot: Root;
  /** hash_tree_root(DepositData), 32 bytes: the root the deposit contract checks. */
  depositDataRoot: Root;
}

function amountNumber(amountGwei: Gwei): number {
  if (typeof amountGwei !== "bigint") throw new TypeError('"amount" must be a bigint (gwei)');
  if (amountGwei < 0n || amountGwei > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`"amount" out of range: ${amountGwei} gwei`);
  }
  return Number(amountGwei);
}

/**
 * hash_tree_root of `DepositMessage{pubkey, withdrawal_credentials, amount}`.
 * @throws RangeError on wrong field lengths or an out-of-range amount
 */
export function depositMessageRoot(msg: DepositMessage): Root {
  return ssz.phase0.DepositMessage.hashTreeRoot({
    pubkey: msg.pubkey,
    withdrawalCredentials: msg.withdrawalCredentials,
    amount: amountNumber(msg.amountGwei),
  }) as Root;
}

/**
 * The root a deposit signature covers: `compute_signing_root(DepositMessage, compute_domain(
 * DOMAIN_DEPOSIT, genesis_fork_version, 0x00…00))`.
 * @param genesisForkVersion 4 bytes
 * @throws RangeError on wrong lengths
 */
export function depositSigningRoot(msg: DepositMessage, genesisForkVersion: Uint8Array): Root {
  return signingRootOf(depositMessageRoot(msg), depositDomain(genesisForkVersion));
}

/**
 * hash_tree_root of `DepositData{pubkey, withdrawal_credentials, amount, signature}`.
 * @throws RangeError on wrong field lengths or an out-of-range amount
 */
export function depositDataRoot(msg: DepositMessage, signature: Uint8Array): Root {
  return ssz.phase0.DepositData.hashTreeRoot({
    pubkey: msg.pubkey,
    withdrawalCredentials: msg.withdrawalCredentials,
    amount: amountNumber(msg.amountGwei),
    signature,
  }) as Root;
}

/**
 * Completes a deposit message and its (combined, verified) signature into a {@link DepositDatum}
 * with both roots. It does not verify the signature: see {@link verifyDepositDatum}.
 * @throws RangeError on wrong lengths
 */
export function buildDepositDatum(msg: DepositMessage, signature: BlsSignature): DepositDatum {
  return {
    pubkey: msg.pubkey,
    withdrawalCredentials: msg.withdrawalCredentials,
    amountGwei: msg.amountGwei,
    signature,
    depositMessageRoot: depositMessageRoot(msg),
    depositDataRoot: depositDataRoot(msg, signature),
  };
}

/**
 * Checks a deposit datum: both roots match its contents and the signature verifies under
 * `pubkey` with the deposit domain of `genesisForkVersion` (consensus-specs `apply_deposit`).
 * @returns the reasons it fails, empty when it is valid (a malformed key or signature is a reason)
 */
export function verifyDepositDatum(datum: DepositDatum, genesisForkVersion: Uint8Array): string[] {
  const checked = checkDepositDatum(datum, genesisForkVersion);
  if (checked.set !== undefined && !verify(checked.set.publicKey, checked.set.message, checked.set.signature)) {
    checked.errors.push(DEPOSIT_SIGNATURE_INVALID);
  }
  return checked.errors;
}

/** The reason {@link verifyDepositDatum} gives for a deposit signature that does not verify. */
export const DEPOSIT_SIGNATURE_INVALID = "signature does not verify under pubkey with the deposit domain";

/**
 * {@link verifyDepositDatum} without its pairing: both roots are checked, and the key and signature
 * parsed; the signature set (48-byte key, 32-byte deposit signing root, 96-byte signature) is
 * returned for the caller to verify, in a batch with others (src/signing/verifySets.ts).
 * @returns the reasons found so far, and the set unless a point or field is malformed
 */
export function checkDepositDatum(
  datum: DepositDatum,
  genesisForkVersion: Uint8Array,
): { errors: string[]; set?: { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array } } {
  const errors: string[] = [];
  try {
    if (!bytesEqual(depositMessageRoot(datum), datum.depositMessageRoot)) {
      errors.push("deposit_message_root does not match the deposit message");
    }
    if (!bytesEqual(depositDataRoot(datum, datum.signature), datum.depositDataRoot)) {
      errors.push("deposit_data_root does not match the deposit data");
    }
    const publicKey = parsePublicKey(datum.pubkey, "pubkey");
    const signature = parseSignature(datum.signature, "signature");
    return { errors, set: { publicKey, message: depositSigningRoot(datum, genesisForkVersion), signature } };
  } catch (err) {
    errors.push(`malformed deposit data: ${(err as Error).message}`);
    return { errors };
  }
}

/**
 * One entry of a staking-deposit-cli `deposit_data-*.json` file. Bytes are lower-case hex
 * WITHOUT 0x and `amount` is a JSON number in gwei, as that tool writes them and the Launchpad
 * (`validateDepositKey.ts`) requires.
 */
export interface DepositCliEntry {
  /** 96 hex chars. */
  pubkey: string;
  /** 64 hex chars. */
  withdrawal_credentials: string;
  /** Gwei. */
  amount: number;
  /** 192 hex chars. */
  signature: string;
  /** 64 hex chars. */
  deposit_message_root: string;
  /** 64 hex chars. */
  deposit_data_root: string;
  /** Genesis fork version, 8 hex chars. */
  fork_version: string;
  network_name: string;
  deposit_cli_version: string;
}

const hexNoPrefix = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/**
 * The staking-deposit-cli entry for `datum` on `network` (key order as that tool writes it).
 * @throws RangeError for an amount that does not fit a JSON number exactly
 */
export function toDepositCliEntry(datum: DepositDatum, network: Network): DepositCliEntry {
  return {
    pubkey: hexNoPrefix(datum.pubkey),
    withdrawal_credentials: hexNoPrefix(datum.withdrawalCredentials),
    amount: amountNumber(datum.amountGwei),
    signature: hexNoPrefix(datum.signature),
    deposit_message_root: hexNoPrefix(datum.depositMessageRoot),
    deposit_data_root: hexNoPrefix(datum.depositDataRoot),
    fork_version: hexNoPrefix(network.genesisForkVersion),
    network_name: network.name,
    deposit_cli_version: DEPOSIT_CLI_VERSION,
  };
}

/** The contents of a deposit-data file: a JSON array of entries, one per validator, with a trailing newline. */
export function serializeDepositCliFile(entries: DepositCliEntry[]): string {
  return `${JSON.stringify(entries, null, 2)}\n`;
}

/** File name of the deposit-data file for one amount: `deposit-data-<amount in ETH>eth.json`, e.g. `deposit-data-32eth.json`. */
export function depositDataFileName(amountGwei: Gwei): string {
  return `deposit-data-${formatGweiAsEth(amountGwei)}eth.json`;
}

/** Formats gwei as a decimal ETH string without trailing zeros: 32000000000n → "32", 1500000000n → "1.5". */
export function formatGweiAsEth(amountGwei: Gwei): string {
  const whole = amountGwei / GWEI_PER_ETH;
  const frac = amountGwei % GWEI_PER_ETH;
  if (frac === 0n) return whole.toString();
  return `${whole}.${frac.toString().padStart(9, "0").replace(/0+$/, "")}`;
}

/**
 * Parses a decimal ETH amount with at most 9 fractional digits into gwei: "32" → 32000000000n.
 * @throws InputError naming `field` when malformed
 */
export function parseEthAmount(value: string, field: string): Gwei {
  const m = /^(\d{1,12})(?:\.(\d{1,9}))?$/.exec(value.trim());
  if (m === null) {
    throw new InputError(field, `"${field}" must be an amount in ETH with at most 9 decimals, got "${value}"`);
  }
  const frac = (m[2] ?? "").padEnd(9, "0");
  return BigInt(m[1]!) * GWEI_PER_ETH + BigInt(frac);
}
