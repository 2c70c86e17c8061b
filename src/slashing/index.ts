/**
 * Slashing protection for one node: the interface the signer depends on, and the EIP-3076 rules, SQLite store and
 * interchange behind it (https://eips.ethereum.org/EIPS/eip-3076).
 */
import type { Epoch, Slot } from "../lib/types.js";

export * from "./interchange.js";
export * from "./rules.js";
export * from "./store.js";

/**
 * What the signer asks before any (partial) signature over a block or an attestation exists. Each call checks the
 * request against the validator's whole history (EIP-3076 complete strategy with low watermarks,
 * https://eips.ethereum.org/EIPS/eip-3076) and records it in the same transaction; the record is durable before the
 * call returns. Returning normally means "allowed: sign it". An exact repeat (same signing root) is allowed.
 */
export interface SlashingProtection {
  /**
   * Checks and records a block proposal.
   * @param pubkey validator (group) public key, 48-byte compressed G1
   * @param slot block slot
   * @param signingRoot 32-byte `compute_signing_root(block, domain)`
   * @throws SlashingError `DOUBLE_PROPOSAL` or `BELOW_LOW_WATERMARK` when refused
   * @throws TypeError / RangeError on a malformed argument
   */
  checkAndRecordBlock(pubkey: Uint8Array, slot: Slot, signingRoot: Uint8Array): void;
  /**
   * Checks and records an attestation.
   * @param pubkey validator (group) public key, 48-byte compressed G1
   * @param sourceEpoch `attestation.data.source.epoch`
   * @param targetEpoch `attestation.data.target.epoch`
   * @param signingRoot 32-byte `compute_signing_root(attestation_data, domain)`
   * @throws SlashingError `SOURCE_EXCEEDS_TARGET`, `DOUBLE_VOTE`, `BELOW_LOW_WATERMARK`, `SURROUNDING_VOTE` or
   * `SURROUNDED_VOTE` when refused
   * @throws TypeError / RangeError on a malformed argument
   */
  checkAndRecordAttestation(pubkey: Uint8Array, sourceEpoch: Epoch, targetEpoch: Epoch, signingRoot: Uint8Array): void;
  /** Closes the database. Further calls throw. */
  close(): void;
}
