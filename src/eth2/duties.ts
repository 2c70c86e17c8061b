/**
 * What each Web3Signer request type is as a duty: its duty key, how a node consents to it (agreed
 * value, fixed value, or operator consent), its wall-clock window, and which leader values a node
 * may accept for it. One descriptor per type; duty agreement and consent both read this table.
 * DESIGN.md § Security model (Consent) and § Signing protocol steps 1–2.
 */
import { SLOTS_PER_EPOCH } from "@lodestar/params";
import { bytesEqual } from "../lib/bytes.js";
import type { SlotClock } from "./clock.js";
import type { ForkInfo, SignRequest, SignRequestType } from "./requests.js";

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

/** A duty type's rules. */
export interface DutyDescriptor {
  readonly class: DutyClass;
  /** The duty of a parsed request of this type. */
  duty(req: SignRequest): Duty;
  /**
   * Why the request lies outside this node's window around the wall-clock slot (or breaks the
   * consensus rules on its epochs), or undefined when it is inside. Checked on every epoch the
   * message names, for the own client's requests and peers' alike.
   */
  outsideWindow(req: SignRequest, clock: SlotClock): string | undefined;
  /**
   * For `agreed` types: why a proposed value may not be accepted given this node's own client's
   * request for the same duty, or undefined when it may (SSV's rule for attestations: same source
   * checkpoint and target epoch; for blocks: same slot and proposer index).
   */
  refuseProposal?(own: SignRequest, proposed: SignRequest): string | undefined;
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

const epochOf = (slot: number) => Math.floor(slot / SLOTS_PER_EPOCH);

function slotWindow(slot: number, clock: SlotClock, pastSlots: number, what: string): string | undefined {
  const now = clock.currentSlot();
  if (slot > now + FUTURE_SLOTS || slot < now - pastSlots) {
    return `${what} slot ${slot} is outside the window [${Math.max(0, now - pastSlots)}, ${now + FUTURE_SLOTS}] around the current slot ${now}`;
  }
  return undefined;
}

function epochWindow(epoch: number, clock: SlotClock, past: number, ahead: number, what: string): string | undefined {
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

function sameForkInfo(own: SignRequest, proposed: SignRequest): string | undefined {
  return forkInfoEqual(own.forkInfo, proposed.forkInfo) ? undefined : "fork_info differs from this node's";
}

function aggregateOf(req: SignRequest) {
  if (req.type !== "AGGREGATE_AND_PROOF" && req.type !== "AGGREGATE_AND_PROOF_V2") throw new TypeError(req.type);
  const m = req.aggregateAndProof;
  const data = m.data.aggregate.data;
  // EIP-7549: from Electra the committee is the set bit of `committee_bits`, and data.index is 0
  const committee =
    m.container === "electra" ? m.data.aggregate.committeeBits.getTrueBitIndexes().join("+") : String(data.index);
  return { slot: data.slot, committee, aggregatorIndex: m.data.aggregatorIndex };
}

function blockOf(req: SignRequest): { slot: number; proposerIndex: number } {
  if (req.type === "BLOCK") return req.block;
  if (req.type !== "BLOCK_V2") throw new TypeError(req.type);
  const b = req.beaconBlock;
  return "blockHeader" in b ? b.blockHeader : b.block;
}

const AGGREGATE: DutyDescriptor = {
  class: "agreed",
  duty(req) {
    const a = aggregateOf(req);
    return { key: `aggregator/${a.slot}/${a.committee}`, kind: "aggregator", slot: a.slot };
  },
  outsideWindow: (req, clock) => slotWindow(aggregateOf(req).slot, clock, ATTESTATION_PAST_SLOTS, "aggregate"),
  refuseProposal(own, proposed) {
    if (aggregateOf(own).aggregatorIndex !== aggregateOf(proposed).aggregatorIndex) return "aggregator_index differs";
    return sameForkInfo(own, proposed);
  },
};

const BLOCK: DutyDescriptor = {
  class: "agreed",
  duty(req) {
    const { slot } = blockOf(req);
    return { key: `proposer/${slot}`, kind: "proposer", slot };
  },
  outsideWindow: (req, clock) => slotWindow(blockOf(req).slot, clock, SLOT_DUTY_PAST_SLOTS, "block"),
  refuseProposal(own, proposed) {
    if (own.type !== proposed.type) return `request type ${proposed.type} differs from ${own.type}`;
    const a = blockOf(own);
    const b = blockOf(proposed);
    if (a.proposerIndex !== b.proposerIndex) return "proposer_index differs";
    if (
      own.type === "BLOCK_V2" &&
      proposed.type === "BLOCK_V2" &&
      own.beaconBlock.version !== proposed.beaconBlock.version
    )
      return "beacon_block.version differs";
    return sameForkInfo(own, proposed);
  },
};

const FIXED_SLOT = (kind: string, slotOf: (r: SignRequest) => number, extra?: (r: SignRequest) => string) => ({
  kind,
  slotOf,
  duty(req: SignRequest): Duty {
    const slot = slotOf(req);
    return { key: `${kind}/${slot}${extra ? `/${extra(req)}` : ""}`, kind, slot };
  },
});

const selection = FIXED_SLOT("selection_proof", (r) => (r.type === "AGGREGATION_SLOT" ? r.aggregationSlot.slot : -1));
const syncSelection = FIXED_SLOT(
  "sync_selection_proof",
  (r) => (r.type === "SYNC_COMMITTEE_SELECTION_PROOF" ? r.syncAggregatorSelectionData.slot : -1),
  (r) => (r.type === "SYNC_COMMITTEE_SELECTION_PROOF" ? String(r.syncAggregatorSelectionData.subcommitteeIndex) : ""),
);

/** The descriptor of every request type. */
export const DUTY_DESCRIPTORS: Readonly<Record<SignRequestType, DutyDescriptor>> = {
  ATTESTATION: {
    class: "agreed",
    duty(req) {
      if (req.type !== "ATTESTATION") throw new TypeError(req.type);
      const slot = req.attestation.slot;
      return { key: `attester/${slot}`, kind: "attester", slot };
    },
    outsideWindow(req, clock) {
      if (req.type !== "ATTESTATION") throw new TypeError(req.type);
      const a = req.attestation;
      // consensus-specs phase0 § process_attestation: target.epoch is the slot's epoch; EIP-3076: source ≤ target
      if (a.target.epoch !== epochOf(a.slot)) {
        return `attestation target epoch ${a.target.epoch} is not the epoch ${epochOf(a.slot)} of its slot ${a.slot}`;
      }
      if (a.source.epoch > a.target.epoch) {
        return `attestation source epoch ${a.source.epoch} is after its target epoch ${a.target.epoch}`;
      }
      return slotWindow(a.slot, clock, ATTESTATION_PAST_SLOTS, "attestation");
    },
    refuseProposal(own, proposed) {
      if (own.type !== "ATTESTATION" || proposed.type !== "ATTESTATION") return "not an attestation";
      const a = own.attestation;
      const b = proposed.attestation;
      if (a.source.epoch !== b.source.epoch || !bytesEqual(a.source.root, b.source.root)) {
        return "source checkpoint differs from this node's";
      }
      if (a.target.epoch !== b.target.epoch) return "target epoch differs from this node's";
      if (a.index !== b.index) return "committee index differs";
      return sameForkInfo(own, proposed);
    },
  },
  BLOCK,
  BLOCK_V2: BLOCK,
  AGGREGATE_AND_PROOF: AGGREGATE,
  AGGREGATE_AND_PROOF_V2: AGGREGATE,
  SYNC_COMMITTEE_MESSAGE: {
    class: "agreed",
    duty(req) {
      if (req.type !== "SYNC_COMMITTEE_MESSAGE") throw new TypeError(req.type);
      const slot = req.syncCommitteeMessage.slot;
      return { key: `sync_message/${slot}`, kind: "sync_message", slot };
    },
    outsideWindow(req, clock) {
      if (req.type !== "SYNC_COMMITTEE_MESSAGE") throw new TypeError(req.type);
      return slotWindow(req.syncCommitteeMessage.slot, clock, SLOT_DUTY_PAST_SLOTS, "sync committee message");
    },
    refuseProposal: sameForkInfo,
  },
  SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF: {
    class: "agreed",
    duty(req) {
      if (req.type !== "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF") throw new TypeError(req.type);
      const c = req.contributionAndProof.contribution;
      return { key: `sync_contribution/${c.slot}/${c.subcommitteeIndex}`, kind: "sync_contribution", slot: c.slot };
    },
    outsideWindow(req, clock) {
      if (req.type !== "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF") throw new TypeError(req.type);
      return slotWindow(req.contributionAndProof.contribution.slot, clock, SLOT_DUTY_PAST_SLOTS, "contribution");
    },
    refuseProposal(own, proposed) {
      if (own.type !== "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF" || proposed.type !== own.type)
        return "not a contribution";
      if (own.contributionAndProof.aggregatorIndex !== proposed.contributionAndProof.aggregatorIndex) {
        return "aggregator_index differs";
      }
      return sameForkInfo(own, proposed);
    },
  },
  RANDAO_REVEAL: {
    class: "fixed",
    duty(req) {
      if (req.type !== "RANDAO_REVEAL") throw new TypeError(req.type);
      const epoch = req.randaoReveal.epoch;
      return { key: `randao/${epoch}`, kind: "randao", slot: epoch * SLOTS_PER_EPOCH };
    },
    outsideWindow(req, clock) {
      if (req.type !== "RANDAO_REVEAL") throw new TypeError(req.type);
      return epochWindow(req.randaoReveal.epoch, clock, FIXED_PAST_EPOCHS, FIXED_LOOKAHEAD_EPOCHS, "randao reveal");
    },
  },
  AGGREGATION_SLOT: {
    class: "fixed",
    duty: selection.duty,
    outsideWindow: (req, clock) =>
      epochWindow(epochOf(selection.slotOf(req)), clock, FIXED_PAST_EPOCHS, FIXED_LOOKAHEAD_EPOCHS, "aggregation slot"),
  },
  SYNC_COMMITTEE_SELECTION_PROOF: {
    class: "fixed",
    duty: syncSelection.duty,
    outsideWindow: (req, clock) =>
      epochWindow(
        epochOf(syncSelection.slotOf(req)),
        clock,
        FIXED_PAST_EPOCHS,
        SYNC_SELECTION_LOOKAHEAD_EPOCHS,
        "sync committee selection proof",
      ),
  },
  VOLUNTARY_EXIT: {
    class: "consent",
    duty(req) {
      if (req.type !== "VOLUNTARY_EXIT") throw new TypeError(req.type);
      const epoch = req.voluntaryExit.epoch;
      return { key: `exit/${epoch}`, kind: "exit", slot: epoch * SLOTS_PER_EPOCH };
    },
    outsideWindow(req, clock) {
      if (req.type !== "VOLUNTARY_EXIT") throw new TypeError(req.type);
      const now = clock.currentEpoch();
      const epoch = req.voluntaryExit.epoch;
      if (epoch > now + EXIT_FUTURE_EPOCHS) return `voluntary exit epoch ${epoch} is after the current epoch ${now}`;
      return undefined;
    },
  },
  DEPOSIT: {
    class: "consent",
    duty: () => ({ key: "deposit", kind: "deposit", slot: 0 }),
    outsideWindow: () => undefined,
  },
  VALIDATOR_REGISTRATION: {
    class: "consent",
    duty(req) {
      if (req.type !== "VALIDATOR_REGISTRATION") throw new TypeError(req.type);
      return { key: `registration/${req.validatorRegistration.timestamp}`, kind: "registration", slot: 0 };
    },
    outsideWindow(req, clock) {
      if (req.type !== "VALIDATOR_REGISTRATION") throw new TypeError(req.type);
      const ts = req.validatorRegistration.timestamp;
      const now = clock.nowSec();
      if (ts > now + REGISTRATION_FUTURE_SECONDS) {
        return `validator registration timestamp ${ts} is more than ${REGISTRATION_FUTURE_SECONDS} s after now (${now})`;
      }
      return undefined;
    },
  },
};

/** The descriptor of a request's type. */
export function dutyDescriptor(req: SignRequest): DutyDescriptor {
  return DUTY_DESCRIPTORS[req.type];
}
