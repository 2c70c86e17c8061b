/**
 * Consent for the messages no duty fixes (DESIGN.md § Security model, Consent): a deposit is
 * consented to when the lock holds it, a builder registration when its fee recipient is the lock's
 * and its gas limit is inside this node's policy, a voluntary exit (and a deposit not in the lock)
 * only when this node's operator asked for it (its validator client, or `cohort exit sign`).
 */
import { ssz } from "@lodestar/types";
import type { DistributedValidator } from "../cluster/lock.js";
import type { SignRequest } from "../eth2/requests.js";
import { bytesEqual, toHex } from "../lib/bytes.js";
import type { Root } from "../lib/types.js";

/**
 * Lowest builder-registration gas limit this node signs. A lower one only lowers the validator's
 * blocks' capacity; the bound keeps one operator from registering a useless limit for everyone.
 */
export const REGISTRATION_MIN_GAS_LIMIT = 30_000_000;
/** Highest builder-registration gas limit this node signs. */
export const REGISTRATION_MAX_GAS_LIMIT = 300_000_000;

/** What the consent rules need to know about a validator and this node. */
export interface ConsentContext {
  /** The validator's entry in the lock. */
  readonly validator: DistributedValidator;
  /** Its fee recipient in the definition (20 bytes). */
  readonly feeRecipient: Uint8Array;
  /** The network's genesis fork version (4 bytes): deposits in the lock sign under it. */
  readonly genesisForkVersion: Uint8Array;
  /** True when this node's operator consented to the message with this signing root. */
  hasConsent(root: Root): boolean;
}

/**
 * Why this node's operator has not consented to a deposit, exit or registration (undefined when
 * it has); undefined for every other type, whose consent is agreement or a fixed value.
 */
export function consentRefusal(req: SignRequest, root: Root, ctx: ConsentContext): string | undefined {
  switch (req.type) {
    case "DEPOSIT": {
      const d = req.deposit;
      const messageRoot = ssz.phase0.DepositMessage.hashTreeRoot({
        pubkey: d.pubkey,
        withdrawalCredentials: d.withdrawalCredentials,
        amount: d.amount,
      });
      const inLock =
        bytesEqual(d.pubkey, ctx.validator.publicKey) &&
        bytesEqual(d.genesisForkVersion, ctx.genesisForkVersion) &&
        ctx.validator.depositData.some((dd) => bytesEqual(dd.depositMessageRoot, messageRoot));
      if (inLock || ctx.hasConsent(root)) return undefined;
      return `deposit to withdrawal credentials ${toHex(d.withdrawalCredentials)} of ${d.amount} gwei is not in the lock, and this operator has not run "cohort deposit sign" for it`;
    }
    case "VALIDATOR_REGISTRATION": {
      const r = req.validatorRegistration;
      if (!bytesEqual(r.pubkey, ctx.validator.publicKey)) return "registration pubkey is not the validator's";
      if (!bytesEqual(r.feeRecipient, ctx.feeRecipient)) {
        return `fee recipient ${toHex(r.feeRecipient)} is not the lock's ${toHex(ctx.feeRecipient)}`;
      }
      if (r.gasLimit < REGISTRATION_MIN_GAS_LIMIT || r.gasLimit > REGISTRATION_MAX_GAS_LIMIT) {
        return `gas limit ${r.gasLimit} is outside this node's policy [${REGISTRATION_MIN_GAS_LIMIT}, ${REGISTRATION_MAX_GAS_LIMIT}]`;
      }
      return undefined;
    }
    case "VOLUNTARY_EXIT":
      if (ctx.hasConsent(root)) return undefined;
      return `this operator has not consented to this exit (its validator client or "cohort exit sign")`;
    default:
      return undefined;
  }
}
