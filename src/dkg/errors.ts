/** Ceremony failures. Every fault names the operator (1-based share index) and carries signed evidence. */
import { CodedError } from "../lib/errors.js";
import type { ShareIndex } from "../lib/types.js";

/** Why a ceremony ended without a lock. */
export type DkgFaultCode =
  /** A dealer signed two different deals (evidence: both signed envelopes). */
  | "EQUIVOCATION"
  /** A deal with wrong counts, a bad point, or a malformed encoding. */
  | "MALFORMED_DEAL"
  /** A deal whose proof of possession does not verify. */
  | "BAD_POP"
  /** A reshare deal whose first commitment is not the dealer's old public share. */
  | "BAD_COMMITMENT"
  /** A dealer's signed share fails its commitment check (evidence: the signed Shares envelope). */
  | "BAD_SHARE"
  /** A complaint refuted by the dealer's shares: the accuser lied. */
  | "FALSE_COMPLAINT"
  /** An echo digest that matches no signed deal. */
  | "INVALID_ECHO"
  /** A message that does not decode, has a bad signature, or a wrong session. */
  | "MALFORMED_MESSAGE"
  /** A partial signature that does not verify under its public share. */
  | "BAD_PARTIAL"
  /** A node signed a different lock_hash. */
  | "LOCK_MISMATCH"
  /** A signed abort whose evidence is what this node received and accepted too: the aborter lied. */
  | "FALSE_ABORT";

/** Network-level reasons a ceremony ended. */
export type DkgNetworkCode =
  | "TIMEOUT"
  | "PEER_DISCONNECTED"
  | "PEER_RESTARTED"
  | "VERSION_MISMATCH"
  | "SESSION_MISMATCH"
  /** Every other peer moved on, and the named ones still had not delivered their messages here. */
  | "WITHHELD"
  /** A peer left with a signed abort that proves no fault to this node: nobody is named. */
  | "PEER_ABORTED"
  | "ABORTED";

export type DkgErrorType =
  | {
      code: DkgFaultCode;
      /** 1-based share indices of the operators at fault. */
      culprits: ShareIndex[];
      step: number;
      /** Signed envelopes (0x-hex) proving the fault. */
      evidence: string[];
      detail: string;
    }
  | { code: DkgNetworkCode; culprits: ShareIndex[]; step: number; evidence: string[]; detail: string };

/** A ceremony failure; `type.culprits` names the operators. */
export class DkgError extends CodedError<DkgErrorType> {}

/** Builds a fault error. */
export function fault(
  code: DkgFaultCode,
  step: number,
  culprits: number[],
  detail: string,
  evidence: string[] = [],
): DkgError {
  const names = culprits.map((c) => `operator ${c}`).join(", ");
  return new DkgError(
    { code, step, culprits: culprits as ShareIndex[], evidence, detail },
    `${code.toLowerCase().replaceAll("_", " ")} by ${names}: ${detail}`,
  );
}
