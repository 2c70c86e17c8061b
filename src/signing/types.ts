/**
 * Contracts between the signing node's parts: the HTTP API (src/api) calls a RemoteSigner; the
 * node (src/node) implements it with slashing protection and the partial-signature exchange.
 * DESIGN.md § Signing protocol.
 */

import type { SignRequest } from "../eth2/requests.js";
import { CodedError } from "../lib/errors.js";
import type { BlsPublicKey, BlsSignature } from "../lib/types.js";

/** Why a sign request got no signature; the API maps each code to a status. */
export type SignerErrorType =
  /** 400: the body parsed but is inconsistent (e.g. `signingRoot` differs from the computed root). */
  | { code: "INVALID_REQUEST"; field: string }
  /** 404: no validator with this public key in the lock. */
  | { code: "UNKNOWN_KEY"; publicKey: string }
  /**
   * 412: slashing protection refused (slashingCode is an EIP-3076 SlashingError code): this node's
   * own, or enough peers' that fewer than t operators could sign. `refusedBy` lists those peers as
   * "share_index (peer_id): CODE"; absent when this node refused.
   */
  | { code: "SLASHING_REFUSED"; slashingCode: string; refusedBy?: string[] }
  /** 503: fewer than t valid partial signatures before the deadline. Peers as "share_index (peer_id)". */
  | { code: "NOT_ENOUGH_PARTIALS"; missing: string[]; refused: string[]; invalid: string[] };

/** A sign request that got no signature. */
export class SignerError extends CodedError<SignerErrorType> {}

/** Cluster health, for `/healthcheck` and metrics. */
export interface SignerHealth {
  /** Peers connected now (this node excluded). */
  peersConnected: number;
  /** n − 1. */
  peersTotal: number;
  /** t: partial signatures needed, this node's own included. */
  threshold: number;
  /** True when this node plus its connected peers reach t. */
  canSign: boolean;
}

/** Per-request options of {@link RemoteSigner.sign}. */
export interface SignOpts {
  /** Fires on client disconnect or the sign deadline. */
  signal: AbortSignal;
}

/** What the HTTP API needs from the node. */
export interface RemoteSigner {
  /** Validator (group) public keys of the lock, 48 bytes each; never share keys. */
  publicKeys(): BlsPublicKey[];
  /**
   * Signs `request` for validator `publicKey`: checks the root, applies slashing protection,
   * gathers t partial signatures, combines and verifies them.
   * @throws SignerError with one of the codes above
   */
  sign(publicKey: BlsPublicKey, request: SignRequest, opts: SignOpts): Promise<BlsSignature>;
  health(): SignerHealth;
}
