/**
 * Duties: the shape of a request type's duty rules (its duty key, how a node consents to it —
 * agreed value, fixed value, or operator consent —, its wall-clock window, and which leader values
 * a node may accept), the named window constants, and the window checks. Each type's rules are in
 * its entry of `SIGN_REQUEST_DESCRIPTORS` (./requests.ts), which duty agreement and consent read.
 * DESIGN.md § Security model (Consent) and § Signing protocol steps 1–2.
 */
import { SLOTS_PER_EPOCH } from "@lodestar/params";
import { bytesEqual } from "../lib/bytes.js";
import type { SlotClock } from "./clock.js";
import type { ForkInfo, SignRequest } from "./requests.js";

/**
 * How a node comes to release its partial signature for a request of a type:
 * - `agreed`: the cluster runs duty agreement and signs the decided value, and only nodes whose own
 *   validator client asked for the duty take part;
 * - `fixed`: the value is fixed by the duty (randao reveal, selection proofs), so a node signs a
 *   peer's request inside the type's look-ahead window without waiting for its own client;
 * - `consent`: deposits, exits, builder registrations: each node signs only a message its operator
 *   consented to (the lock, a policy, or an explicit command).
 */
export type DutyClass = "agreed" | "fixed" | "consent";

/** The duty a request belongs to, for one validator. */
export interface Duty {
  /**
   * Stable key: `<kind>/<slot or epoch>[/<committee or subcommittee>]`, e.g. `attester/123`,
   * `aggregator/123/4`, `sync_contribution/123/2`. Two honest requests in one slot for one
   * validator have different keys exactly when they are different duties.
   */
  readonly key: string;
  readonly kind: string;
  /** The duty's slot: for epoch duties, the epoch's first slot. Leader choice and expiry use it. */
  readonly slot: number;
}

/** A duty type's rules, for requests `R` of that type. */
export interface DutyDescriptor<R extends SignRequest = SignRequest> {
  readonly class: DutyClass;
  /** The duty of a parsed request of this type. */
  duty(req: R): Duty;
  /**
   * Why the request lies outside this node's window around the wall-clock slot (or breaks the
   * consensus rules on its epochs), or undefined when it is inside. Checked on every epoch the
   * message names, for the own client's requests and peers' alike.
   */
  outsideWindow(req: R, clock: SlotClock): string | undefined;
  /**
   * For `agreed` types: why a proposed value may not be accepted given this node's own client's
   * request for the same duty, or undefined when it may (SSV's rule for attestations: same source
   * checkpoint and target epoch; for blocks: same slot and proposer index).
   */
  refuseProposal?(own: R, proposed: SignRequest): string | undefined;
}

/** Slots before the wall-clock slot in which an attestation (and its aggregate) may still be signed. */
export const ATTESTATION_PAST_SLOTS = SLOTS_PER_EPOCH;
/** Slots before the wall-clock slot in which a block, sync committee message or contribution may be signed. */
export const SLOT_DUTY_PAST_SLOTS = 2;
/** Slots after the wall-clock slot accepted for every slot duty: clock skew between nodes and clients. */
export const FUTURE_SLOTS = 1;
/**
 * Epochs ahead of the wall-clock epoch for which a randao reveal or an aggregation selection proof
 * is signed: Lodestar and Teku sign selection proofs when they fetch the next epoch's duties.
 */
export const FIXED_LOOKAHEAD_EPOCHS = 1;
/** Epochs ahead for sync committee selection proofs: Lighthouse signs them up to 2 epochs early. */
export const SYNC_SELECTION_LOOKAHEAD_EPOCHS = 2;
/** Epochs back in which a fixed-value duty is still signed. */
export const FIXED_PAST_EPOCHS = 1;
/** A voluntary exit's epoch may be at most this far past the wall-clock epoch (EIP-7044: not in the future). */
export const EXIT_FUTURE_EPOCHS = 0;
/** A builder registration's timestamp may lead the wall clock by at most this many seconds. */
export const REGISTRATION_FUTURE_SECONDS = 60;

/**
 * Why `slot` lies outside [now − `pastSlots`, now + {@link FUTURE_SLOTS}] of the wall-clock slot, or
 * undefined when inside. `what` names the message in the reason.
 */
export function slotWindow(slot: number, clock: SlotClock, pastSlots: number, what: string): string | undefined {
  const now = clock.currentSlot();
  if (slot > now + FUTURE_SLOTS || slot < now - pastSlots) {
    return `${what} slot ${slot} is outside the window [${Math.max(0, now - pastSlots)}, ${now + FUTURE_SLOTS}] around the current slot ${now}`;
  }
  return undefined;
}

/** Why `epoch` lies outside [now − `past`, now + `ahead`] of the wall-clock epoch, or undefined when inside. */
export function epochWindow(
  epoch: number,
  clock: SlotClock,
  past: number,
  ahead: number,
  what: string,
): string | undefined {
  const now = clock.currentEpoch();
  if (epoch > now + ahead || epoch < now - past) {
    return `${what} epoch ${epoch} is outside the window [${Math.max(0, now - past)}, ${now + ahead}] around the current epoch ${now}`;
  }
  return undefined;
}

function forkInfoEqual(a: ForkInfo | undefined, b: ForkInfo | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.fork.epoch === b.fork.epoch &&
    bytesEqual(a.fork.previousVersion, b.fork.previousVersion) &&
    bytesEqual(a.fork.currentVersion, b.fork.currentVersion) &&
    bytesEqual(a.genesisValidatorsRoot, b.genesisValidatorsRoot)
  );
}

/** A proposal's `fork_info` must equal this node's own request's: else the reason. */
export function sameForkInfo(own: SignRequest, proposed: SignRequest): string | undefined {
  return forkInfoEqual(own.forkInfo, proposed.forkInfo) ? undefined : "fork_info differs from this node's";
}
