/**
 * A node's own partial signatures: recompute the signing root, apply this node's slashing
 * protection, sign with this node's share. Used for local requests and for peers' parsig requests
 * alike. DESIGN.md § Signing protocol, steps 1–3.
 */
import type { SecretKey } from "../crypto/bls.js";
import { checkSigningRoot, requestSigningRoot, type SignRequest, slashingCheckOf } from "../eth2/requests.js";
import { toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import type { BlsSignature, Root, ShareIndex } from "../lib/types.js";
import type { AsyncSlashingProtection } from "../slashing/groupCommit.js";
import { SlashingError } from "../slashing/index.js";
import { SignerError } from "./types.js";

/**
 * Partial signatures kept per (validator, signing root), so n requesters cost one slashing check
 * and one signature, also when they ask at once.
 */
export const PARTIAL_CACHE_ENTRIES = 16_384;

export interface PartialSignerOpts {
  /** This node's 1-based share index. */
  shareIndex: ShareIndex;
  /** This node's share of each validator, keyed by the validator's 0x-hex group public key. */
  shares: Map<string, SecretKey>;
  /** The network's genesis fork version (4 bytes): builder registrations sign under it. */
  genesisForkVersion: Uint8Array;
  /** The network's genesis validators root (32 bytes): requests for another chain are refused. */
  genesisValidatorsRoot?: Uint8Array;
}

export interface PartialSignerModules {
  slashing: AsyncSlashingProtection;
  logger: Logger;
}

/** A partial signature and the root it signs. */
export interface Partial {
  root: Root;
  /** 96-byte G2 signature by this node's share. */
  signature: BlsSignature;
}

/** Signs with this node's shares, behind this node's slashing protection. */
export class PartialSigner {
  /** Made or in-flight partials; a rejected one is dropped, so a refusal is never cached. */
  readonly #cache = new Map<string, Promise<BlsSignature>>();

  constructor(
    private readonly opts: PartialSignerOpts,
    private readonly modules: PartialSignerModules,
  ) {}

  get shareIndex(): ShareIndex {
    return this.opts.shareIndex;
  }

  /**
   * Computes the signing root, checks it against the request's own `signingRoot`, checks and
   * records blocks and attestations in the slashing database, then signs. The record is durable
   * before the partial signature exists.
   * @throws SignerError UNKNOWN_KEY, INVALID_REQUEST (field named) or SLASHING_REFUSED
   */
  async signPartial(publicKeyHex: string, request: SignRequest): Promise<Partial> {
    const prepared = this.prepare(publicKeyHex, request);
    return { root: prepared.root, signature: await prepared.sign() };
  }

  /**
   * {@link prepare}'s `sign()` for a request whose signing root (32 bytes) the caller already
   * computed from it: an agreed value, parsed and bound to its root once.
   * @throws SignerError UNKNOWN_KEY; rejects with SignerError SLASHING_REFUSED
   */
  signAt(publicKeyHex: string, request: SignRequest, root: Root): Promise<BlsSignature> {
    const share = this.opts.shares.get(publicKeyHex);
    if (share === undefined) {
      throw new SignerError({ code: "UNKNOWN_KEY", publicKey: publicKeyHex }, `unknown validator ${publicKeyHex}`);
    }
    return this.#cached(share, publicKeyHex, request, root);
  }

  /**
   * The synchronous half of {@link signPartial}: the signing root and its check against the
   * request. `sign()` then does the slashing check-and-record (durable before it signs) and makes,
   * or returns the cached, partial signature; a requester can ask its peers before calling it.
   * @throws SignerError UNKNOWN_KEY or INVALID_REQUEST (field named); `sign()` rejects with
   *   SignerError SLASHING_REFUSED
   */
  prepare(publicKeyHex: string, request: SignRequest): { root: Root; sign: () => Promise<BlsSignature> } {
    const share = this.opts.shares.get(publicKeyHex);
    if (share === undefined) {
      throw new SignerError({ code: "UNKNOWN_KEY", publicKey: publicKeyHex }, `unknown validator ${publicKeyHex}`);
    }
    let root: Root;
    try {
      root = requestSigningRoot(request, {
        genesisForkVersion: this.opts.genesisForkVersion,
        genesisValidatorsRoot: this.opts.genesisValidatorsRoot,
      });
      checkSigningRoot(request, root);
    } catch (err) {
      if (err instanceof InputError) {
        throw new SignerError({ code: "INVALID_REQUEST", field: err.type.field }, err.message, { cause: err });
      }
      throw err;
    }
    return { root, sign: () => this.#cached(share, publicKeyHex, request, root) };
  }

  #cached(share: SecretKey, publicKeyHex: string, request: SignRequest, root: Root): Promise<BlsSignature> {
    const key = `${publicKeyHex}:${toHex(root)}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const signing = this.#checkAndSign(share, publicKeyHex, request, root);
    if (this.#cache.size >= PARTIAL_CACHE_ENTRIES) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, signing);
    signing.catch(() => {
      if (this.#cache.get(key) === signing) this.#cache.delete(key);
    });
    return signing;
  }

  async #checkAndSign(share: SecretKey, publicKeyHex: string, request: SignRequest, root: Root): Promise<BlsSignature> {
    const check = slashingCheckOf(request);
    try {
      const pk = Buffer.from(publicKeyHex.slice(2), "hex");
      if (check?.kind === "block") {
        await this.modules.slashing.checkAndRecordBlock({ pubkey: pk, slot: check.slot, signingRoot: root });
      } else if (check?.kind === "attestation") {
        await this.modules.slashing.checkAndRecordAttestation({
          pubkey: pk,
          sourceEpoch: check.sourceEpoch,
          targetEpoch: check.targetEpoch,
          signingRoot: root,
        });
      }
    } catch (err) {
      if (err instanceof SlashingError) {
        this.modules.logger.warn(
          { validator: publicKeyHex.slice(0, 12), type: request.type, code: err.code },
          "slashing protection refused",
        );
        throw new SignerError({ code: "SLASHING_REFUSED", slashingCode: err.code }, err.message, { cause: err });
      }
      throw err;
    }
    return share.sign(root);
  }
}
