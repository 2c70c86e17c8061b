/**
 * `/cohort/parsig/1.0.0` at runtime: a node forwards the validator client's request to its peers
 * (t − 1 first, the rest when needed; see gatherSignature); each peer recomputes the root, applies
 * its own slashing protection and answers with its partial signature or a refusal code. Requests
 * are bound to the cluster by `session` = lock_hash.
 */
import { decodeSignRequest, encodeSignRequest, type SignRequest } from "../eth2/requests.js";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import { ParSigRequest, ParSigResponse } from "../pb/parsig.js";
import type { PeerAnswer } from "./combine.js";
import type { PartialSigner } from "./partial.js";
import { SignerError } from "./types.js";

/** Refusal codes besides the EIP-3076 slashing codes. */
export const REFUSAL = {
  MALFORMED: "MALFORMED",
  WRONG_SESSION: "WRONG_SESSION",
  UNKNOWN_KEY: "UNKNOWN_KEY",
  INVALID_REQUEST: "INVALID_REQUEST",
  INTERNAL: "INTERNAL",
} as const;

/** Encodes a partial-signature request for peers: the validated request JSON, bound to the lock. */
export function encodeParSigRequest(lockHash: Uint8Array, publicKey: Uint8Array, request: SignRequest): Uint8Array {
  return ParSigRequest.encode({
    session: lockHash as Uint8Array<ArrayBuffer>,
    publicKey: publicKey as Uint8Array<ArrayBuffer>,
    requestJson: encodeSignRequest(request) as Uint8Array<ArrayBuffer>,
  });
}

/**
 * Decodes a peer's answer. A partial must come from the share index the peer holds and be a
 * valid G2 point; whether it verifies is the combiner's business.
 * @throws RangeError/TypeError on malformed bytes (the combiner counts the peer as missing)
 */
export function decodeParSigResponse(bytes: Uint8Array, expectedIndex: number): PeerAnswer {
  const res = ParSigResponse.decode(bytes);
  if (res.refusalCode !== "") return { refusal: { code: res.refusalCode, message: res.refusalMessage } };
  if (res.shareIndex !== expectedIndex) {
    throw new RangeError(`partial from share index ${res.shareIndex}, expected ${expectedIndex}`);
  }
  if (res.partialSignature.length !== 96) {
    throw new RangeError(`"partial_signature" must be 96 bytes, got ${res.partialSignature.length}`);
  }
  // validated (subgroup) by the combiner, only when the combined signature does not verify
  return { signature: res.partialSignature };
}

function refusal(code: string, message: string): { bytes: Uint8Array; result: string } {
  return {
    bytes: ParSigResponse.encode({
      shareIndex: 0,
      partialSignature: new Uint8Array(0),
      refusalCode: code,
      refusalMessage: message,
    }),
    result: code,
  };
}

/**
 * The peer side of the protocol: never throws on a peer's bytes; every problem is a refusal.
 * @param lockHash 32 bytes: requests for another cluster are refused
 */
export function createParSigHandler(
  opts: { lockHash: Uint8Array },
  modules: {
    signer: PartialSigner;
    logger: Logger;
    /** Called once per request with "signed" or the refusal code (metrics). */
    onRequest?: (result: string) => void;
  },
): (bytes: Uint8Array, peer: string) => Promise<Uint8Array> {
  const log = modules.logger;
  return async (bytes, peer) => {
    const answer = await (async () => {
      let req: ParSigRequest;
      try {
        req = ParSigRequest.decode(bytes);
      } catch (err) {
        return refusal(REFUSAL.MALFORMED, `undecodable request: ${(err as Error).message}`);
      }
      if (!bytesEqual(req.session, opts.lockHash))
        return refusal(REFUSAL.WRONG_SESSION, "request for another cluster lock");
      const pkHex = toHex(req.publicKey);
      if (!modules.signer.has(pkHex)) return refusal(REFUSAL.UNKNOWN_KEY, `unknown validator ${pkHex}`);
      try {
        const { signature } = await modules.signer.signPartial(pkHex, decodeSignRequest(req.requestJson));
        return {
          bytes: ParSigResponse.encode({
            shareIndex: modules.signer.shareIndex,
            partialSignature: signature as Uint8Array<ArrayBuffer>,
            refusalCode: "",
            refusalMessage: "",
          }),
          result: "signed",
        };
      } catch (err) {
        if (err instanceof SignerError) {
          const code = err.type.code === "SLASHING_REFUSED" ? err.type.slashingCode : err.type.code;
          return refusal(code, err.message);
        }
        if (err instanceof InputError) return refusal(REFUSAL.INVALID_REQUEST, err.message);
        log.error({ peer, err: (err as Error).message }, "parsig handler failed");
        return refusal(REFUSAL.INTERNAL, "internal error");
      }
    })();
    modules.onRequest?.(answer.result);
    return answer.bytes;
  };
}
