/**
 * A RemoteSigner for API tests: real BLS keys (seeded), real signing roots from
 * src/eth2/requests.ts, and configurable SignerError outcomes per key. A fake only at the node
 * edge: no partial signatures, no peers.
 */
import { SecretKey, scalarToBytes } from "../../src/crypto/bls.js";
import { checkSigningRoot, requestSigningRoot, type SignRequest } from "../../src/eth2/requests.js";
import { fromHex, toHex } from "../../src/lib/bytes.js";
import { InputError } from "../../src/lib/errors.js";
import type { BlsPublicKey, BlsSignature } from "../../src/lib/types.js";
import { type RemoteSigner, SignerError, type SignerHealth } from "../../src/signing/types.js";

/** What the signer does for one key. */
export type KeyBehaviour =
  | "sign"
  | "slashing"
  | "partials"
  /** Waits until the request's signal fires, then rejects with its reason. */
  | "hang"
  /** Throws a plain Error (an internal bug). */
  | "crash"
  /** Signs once {@link TestSigner.release} is called. */
  | "gate";

/** Mainnet GENESIS_FORK_VERSION: the VALIDATOR_REGISTRATION domain. */
export const SIGNING_ROOT_OPTS = { genesisForkVersion: fromHex("0x00000000") };

/** Peers named in the NOT_ENOUGH_PARTIALS error. */
export const MISSING_PEERS = ["2 (16Uiu2HAmMissingPeerA)", "4 (16Uiu2HAmMissingPeerB)"];
export const REFUSED_PEERS = ["3 (16Uiu2HAmRefusingPeer)"];

export class TestSigner implements RemoteSigner {
  readonly keys: { sk: SecretKey; pk: BlsPublicKey; behaviour: KeyBehaviour }[];
  health_: SignerHealth = { peersConnected: 3, peersTotal: 3, threshold: 3, canSign: true };
  /** Every request that reached sign(), with its signal. */
  readonly calls: { publicKey: string; request: SignRequest; signal: AbortSignal }[] = [];

  #release: () => void = () => {};
  readonly #gate = new Promise<void>((resolve) => {
    this.#release = resolve;
  });
  #waiters: { n: number; resolve: () => void }[] = [];

  /** Lets every "gate" request sign. */
  release(): void {
    this.#release();
  }

  /** Resolves once sign() has been called `n` times in all. */
  called(n = 1): Promise<void> {
    if (this.calls.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  constructor(behaviours: KeyBehaviour[]) {
    this.keys = behaviours.map((behaviour, i) => {
      const sk = SecretKey.fromBytes(scalarToBytes(0x5eed_0000_0000_0000_0000_0000_0001n + BigInt(i) * 7919n));
      return { sk, pk: sk.publicKey(), behaviour };
    });
  }

  publicKeys(): BlsPublicKey[] {
    return this.keys.map((k) => k.pk);
  }

  health(): SignerHealth {
    return this.health_;
  }

  async sign(publicKey: BlsPublicKey, request: SignRequest, opts: { signal: AbortSignal }): Promise<BlsSignature> {
    const hex = toHex(publicKey);
    this.calls.push({ publicKey: hex, request, signal: opts.signal });
    for (const w of this.#waiters) if (this.calls.length >= w.n) w.resolve();
    const key = this.keys.find((k) => toHex(k.pk) === hex);
    if (key === undefined) throw new SignerError({ code: "UNKNOWN_KEY", publicKey: hex }, `unknown key ${hex}`);
    // As the node does (DESIGN.md § Signing protocol, step 1): a signingRoot mismatch is INVALID_REQUEST.
    const root = requestSigningRoot(request, SIGNING_ROOT_OPTS);
    try {
      checkSigningRoot(request, root);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      throw new SignerError({ code: "INVALID_REQUEST", field: err.type.field }, err.message, { cause: err });
    }
    switch (key.behaviour) {
      case "sign":
        return key.sk.sign(root);
      case "slashing":
        throw new SignerError({ code: "SLASHING_REFUSED", slashingCode: "DOUBLE_VOTE" }, "double vote");
      case "partials":
        throw new SignerError(
          { code: "NOT_ENOUGH_PARTIALS", missing: MISSING_PEERS, refused: REFUSED_PEERS, invalid: [] },
          "not enough partial signatures",
        );
      case "hang":
        return new Promise((_, reject) => {
          const onAbort = () => reject(opts.signal.reason);
          if (opts.signal.aborted) onAbort();
          else opts.signal.addEventListener("abort", onAbort, { once: true });
        });
      case "crash":
        throw new Error("secret internal detail at /home/op/.cohort");
      case "gate":
        await this.#gate;
        return key.sk.sign(root);
    }
  }
}
