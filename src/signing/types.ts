/**
 * Contracts between the signing node's parts: the HTTP API (src/api) calls a RemoteSigner; the
 * threshold signer (src/signing/threshold.ts, composed in src/app/node.ts) implements it with
 * slashing protection, duty agreement and the partial-signature exchange.
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
  /**
   * 503: fewer than t valid partial signatures before the deadline. Peers as "share_index (peer_id)".
   * `consentNeeded`: at least how many more operators must consent (deposits, exits, registrations).
   */
  | { code: "NOT_ENOUGH_PARTIALS"; missing: string[]; refused: string[]; invalid: string[]; consentNeeded?: number }
  /**
   * 503: the cluster did not agree on the duty's value before the deadline. `round`: the QBFT round
   * this node reached (1 = the first leader's; higher = round changes; 0 when it holds no state for
   * the duty any more); `silent`: the peers, as "share_index (peer_id)", none of whose messages for
   * this duty this node kept (not connected, their clients did not ask, or their messages were
   * refused); empty when no state is held.
   */
  | { code: "NO_AGREEMENT"; duty: string; round: number; silent: string[] }
  /**
   * 412 (`slashable`: attestations, blocks) or 409: the cluster agreed on another value for this duty
   * than this node's validator client asked for. This node signed the decided value only.
   */
  | { code: "DECIDED_OTHER"; duty: string; decidedSigningRoot: string; slashable: boolean }
  /** 403: this node's operator does not consent to the message (a deposit not in the lock, a foreign fee recipient). */
  | { code: "NO_CONSENT"; reason: string };

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
