/**
 * `/cohort/parsig/2.0.0` at runtime: a node asks its peers for their partial signatures. For a
 * duty the cluster agreed on, the request names the duty and the decided signing root, and the
 * peer answers once it decided and signed that value itself; with `group`, the peer that led the
 * deciding round answers with the group signature it combined instead. For a fixed-value or consented
 * message, the request carries the Web3Signer body and the peer applies its own window, consent
 * and slashing checks. Requests are bound to the cluster by `session` = lock_hash.
 */
import { decodeSignRequest, encodeSignRequest } from "../eth2/requests.js";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import type { Root } from "../lib/types.js";
import { ParSigRequest, ParSigResponse } from "../pb/parsig.js";
import type { PeerAnswer } from "./combine.js";
import type { PartialAnswer, PeerPartialRequest, ThresholdSigner } from "./threshold.js";

/** Refusal codes besides the EIP-3076 slashing codes and the signer's own. */
export const REFUSAL = {
  MALFORMED: "MALFORMED",
  WRONG_SESSION: "WRONG_SESSION",
  UNKNOWN_KEY: "UNKNOWN_KEY",
  INVALID_REQUEST: "INVALID_REQUEST",
  INTERNAL: "INTERNAL",
} as const;

/** Encodes a partial-signature request for a peer, bound to the lock. */
export function encodeParSigRequest(lockHash: Uint8Array, req: PeerPartialRequest): Uint8Array {
  const empty = new Uint8Array(0) as Uint8Array<ArrayBuffer>;
  return ParSigRequest.encode({
    session: lockHash as Uint8Array<ArrayBuffer>,
    publicKey: req.publicKey as Uint8Array<ArrayBuffer>,
    requestJson: req.kind === "request" ? (encodeSignRequest(req.request) as Uint8Array<ArrayBuffer>) : empty,
    duty: req.kind === "request" ? "" : req.duty,
    signingRoot: req.kind === "request" ? empty : (req.root as Uint8Array<ArrayBuffer>),
    group: req.kind === "group",
  });
}

/**
 * Decodes a peer's answer to a request of `kind`. A partial must come from the share index the
 * peer holds and be 96 bytes; a `group` answer carries a 96-byte group signature instead. Whether
 * either verifies is the caller's business.
 * @throws RangeError/TypeError on malformed bytes (the caller counts the peer as missing)
 */
export function decodeParSigResponse(
  bytes: Uint8Array,
  expectedIndex: number,
  kind: PeerPartialRequest["kind"] = "decided",
): PeerAnswer {
  const res = ParSigResponse.decode(bytes);
  if (res.refusalCode !== "") return { refusal: { code: res.refusalCode, message: res.refusalMessage.slice(0, 512) } };
  if (res.shareIndex !== expectedIndex) {
    throw new RangeError(`answer from share index ${res.shareIndex}, expected ${expectedIndex}`);
  }
  const [field, sig] =
    kind === "group" ? ["group_signature", res.groupSignature] : ["partial_signature", res.partialSignature];
  if (sig.length !== 96) throw new RangeError(`"${field}" must be 96 bytes, got ${sig.length}`);
  return { signature: sig };
}

function encodeAnswer(shareIndex: number, a: PartialAnswer, group: boolean): { bytes: Uint8Array; result: string } {
  const empty = new Uint8Array(0) as Uint8Array<ArrayBuffer>;
  if ("signature" in a) {
    const sig = a.signature as Uint8Array<ArrayBuffer>;
    return {
      bytes: ParSigResponse.encode({
        shareIndex,
        partialSignature: group ? empty : sig,
        refusalCode: "",
        refusalMessage: "",
        decidedRoot: empty,
        groupSignature: group ? sig : empty,
      }),
      result: group ? "combined" : "signed",
    };
  }
  return {
    bytes: ParSigResponse.encode({
      shareIndex: 0,
      partialSignature: empty,
      refusalCode: a.refusal.code,
      refusalMessage: a.refusal.message,
      decidedRoot: (a.decidedRoot ?? empty) as Uint8Array<ArrayBuffer>,
      groupSignature: empty,
    }),
    result: a.refusal.code,
  };
}

/**
 * The peer side of the protocol: never throws on a peer's bytes; every problem is a refusal.
 * @param lockHash 32 bytes: requests for another cluster are refused
 */
export function createParSigHandler(
  opts: { lockHash: Uint8Array },
  modules: {
    signer: ThresholdSigner;
    logger: Logger;
    /** Called once per request with "signed" or the refusal code (metrics). */
    onRequest?: (result: string) => void;
    /** Called with a request's session (≤ 32 bytes) when it names another lock (the node reports it). */
    onWrongSession?: (peer: string, session: Uint8Array) => void;
  },
): (bytes: Uint8Array, peer: string, signal: AbortSignal) => Promise<Uint8Array> {
  const log = modules.logger;
  const signer = modules.signer;
  const refuse = (code: string, message: string): PartialAnswer => ({ refusal: { code, message } });
  return async (bytes, peer, signal) => {
    let group = false;
    const answer = await (async (): Promise<PartialAnswer> => {
      let req: ParSigRequest;
      try {
        req = ParSigRequest.decode(bytes);
      } catch (err) {
        return refuse(REFUSAL.MALFORMED, `undecodable request: ${(err as Error).message}`);
      }
      group = req.group;
      if (!bytesEqual(req.session, opts.lockHash)) {
        if (req.session.length <= 32) modules.onWrongSession?.(peer, req.session);
        return refuse(REFUSAL.WRONG_SESSION, "request for another cluster lock");
      }
      const pkHex = toHex(req.publicKey);
      if (!signer.has(pkHex)) return refuse(REFUSAL.UNKNOWN_KEY, `unknown validator ${pkHex}`);
      try {
        if (req.duty !== "") {
          if (req.signingRoot.length !== 32) return refuse(REFUSAL.MALFORMED, `"signing_root" must be 32 bytes`);
          const root = req.signingRoot as unknown as Root;
          if (group) return await signer.serveGroup(pkHex, req.duty, root, signal);
          return await signer.serveDecided(pkHex, req.duty, root, signal);
        }
        if (group) return refuse(REFUSAL.MALFORMED, `"group" needs "duty" and "signing_root"`);
        return await signer.servePeerRequest(pkHex, decodeSignRequest(req.requestJson));
      } catch (err) {
        if (err instanceof InputError) return refuse(REFUSAL.INVALID_REQUEST, err.message);
        log.error({ peer, err: (err as Error).message }, "parsig handler failed");
        return refuse(REFUSAL.INTERNAL, "internal error");
      }
    })();
    const out = encodeAnswer(signer.shareIndex, answer, group);
    modules.onRequest?.(out.result);
    return out.bytes;
  };
}
