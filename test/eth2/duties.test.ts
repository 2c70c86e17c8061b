// Duty descriptors (src/eth2/duties.ts): duty keys, classes, time windows on an injected clock, and
// the proposal rules agreement applies.
import { ssz } from "@lodestar/types";
import { describe, expect, it } from "vitest";
import { PRESET_GENESIS_TIME, SECONDS_PER_SLOT, slotClock } from "../../src/eth2/clock.js";
import {
  parseSignRequest,
  requestDescriptor,
  SIGN_REQUEST_DESCRIPTORS,
  SIGN_REQUEST_TYPES,
  type SignRequest,
} from "../../src/eth2/requests.js";
import {
  aggregateAndProofElectra,
  aggregateAndProofV2Request,
  allSignRequests,
  attestationData,
  attestationRequest,
  beaconBlock,
  blockV2Request,
  contributionAndProof,
  mainnetForkInfo,
  randaoRevealRequest,
  slotIn,
  syncAggregatorSelectionData,
  syncCommitteeContributionAndProofRequest,
  syncCommitteeSelectionProofRequest,
  validatorRegistration,
  validatorRegistrationRequest,
  voluntaryExit,
  voluntaryExitRequest,
} from "../helpers/signRequests.js";

const fi = mainnetForkInfo("electra");
const SLOT = slotIn(fi);
const GENESIS = PRESET_GENESIS_TIME.mainnet;
/** A clock whose wall-clock slot is `slot` (mid-slot). */
const clockAt = (slot: number) => slotClock(GENESIS, () => (GENESIS + slot * SECONDS_PER_SLOT + 4) * 1000);
const parse = (body: unknown): SignRequest => parseSignRequest(body);

describe("duty descriptors", () => {
  it("every request type has a descriptor; classes as DESIGN.md § Consent sets them", () => {
    expect(Object.keys(SIGN_REQUEST_DESCRIPTORS).sort()).toEqual([...SIGN_REQUEST_TYPES].sort());
    const byClass = (c: string) => SIGN_REQUEST_TYPES.filter((t) => SIGN_REQUEST_DESCRIPTORS[t].class === c).sort();
    expect(byClass("agreed")).toEqual(
      [
        "AGGREGATE_AND_PROOF",
        "AGGREGATE_AND_PROOF_V2",
        "ATTESTATION",
        "BLOCK",
        "BLOCK_V2",
        "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF",
        "SYNC_COMMITTEE_MESSAGE",
      ].sort(),
    );
    expect(byClass("fixed")).toEqual(["AGGREGATION_SLOT", "RANDAO_REVEAL", "SYNC_COMMITTEE_SELECTION_PROOF"]);
    expect(byClass("consent")).toEqual(["DEPOSIT", "VALIDATOR_REGISTRATION", "VOLUNTARY_EXIT"]);
    for (const t of SIGN_REQUEST_TYPES) {
      expect(SIGN_REQUEST_DESCRIPTORS[t].refuseProposal !== undefined, t).toBe(
        SIGN_REQUEST_DESCRIPTORS[t].class === "agreed",
      );
    }
  });

  it("duty keys hold the slot, the committee of an aggregate and the subcommittee of sync duties", () => {
    const keys = allSignRequests(fi).map(({ body }) => requestDescriptor(parse(body)).duty(parse(body)).key);
    expect(keys).toContain(`attester/${SLOT}`);
    expect(keys).toContain(`proposer/${SLOT}`);
    expect(keys).toContain(`sync_message/${SLOT}`);
    // two contributions in one slot for two subcommittees are two duties
    const c0 = contributionAndProof(SLOT);
    const c1 = structuredClone(c0);
    c1.contribution.subcommitteeIndex = (c0.contribution.subcommitteeIndex + 1) % 4;
    const k = (b: unknown) => requestDescriptor(parse(b)).duty(parse(b)).key;
    expect(k(syncCommitteeContributionAndProofRequest(fi, c0).body)).not.toBe(
      k(syncCommitteeContributionAndProofRequest(fi, c1).body),
    );
    // and so are two aggregates for two committees
    const a0 = aggregateAndProofElectra(SLOT);
    const a1 = structuredClone(a0);
    a1.aggregate.committeeBits = a0.aggregate.committeeBits.clone();
    const set = a0.aggregate.committeeBits.getTrueBitIndexes()[0]!;
    a1.aggregate.committeeBits.set(set, false);
    a1.aggregate.committeeBits.set((set + 1) % 64, true);
    expect(k(aggregateAndProofV2Request(fi, "electra", a0).body)).toBe(`aggregator/${SLOT}/${set}`);
    expect(k(aggregateAndProofV2Request(fi, "electra", a1).body)).toBe(`aggregator/${SLOT}/${(set + 1) % 64}`);
    const s0 = syncAggregatorSelectionData(SLOT);
    expect(k(syncCommitteeSelectionProofRequest(fi, s0).body)).toBe(
      `sync_selection_proof/${SLOT}/${s0.subcommitteeIndex}`,
    );
  });
});

describe("time windows (injected clock)", () => {
  const inside = (body: unknown, slot: number) =>
    requestDescriptor(parse(body)).outsideWindow(parse(body), clockAt(slot));

  it("every fixture is inside the window at its own slot", () => {
    for (const { type, body } of allSignRequests(fi)) {
      // the registration fixture's timestamp is weeks after SLOT (checked below)
      if (type !== "VALIDATOR_REGISTRATION") expect(inside(body, SLOT), type).toBeUndefined();
    }
  });

  it("an attestation far in the future, or whose target is not its slot's epoch, or whose source follows its target, is refused", () => {
    const far = attestationData(SLOT + 32 * 1000);
    expect(inside(attestationRequest(fi, far).body, SLOT)).toMatch(/outside the window/);
    // the case of "What was seen": source 0, target 1,000,000 behind a current slot
    const hidden = attestationData(SLOT);
    hidden.source.epoch = 0;
    hidden.target.epoch = 1_000_000;
    expect(inside(attestationRequest(fi, hidden).body, SLOT)).toMatch(/target epoch 1000000 is not the epoch/);
    const backwards = attestationData(SLOT);
    backwards.source.epoch = backwards.target.epoch + 1;
    backwards.target.epoch = Math.floor(SLOT / 32);
    expect(inside(attestationRequest(fi, backwards).body, SLOT)).toMatch(/source epoch .* is after its target/);
    // one slot of skew is fine, an epoch late is fine, more is not
    expect(inside(attestationRequest(fi).body, SLOT - 1)).toBeUndefined();
    expect(inside(attestationRequest(fi).body, SLOT + 32)).toBeUndefined();
    expect(inside(attestationRequest(fi).body, SLOT + 33)).toMatch(/outside/);
    expect(inside(attestationRequest(fi).body, SLOT - 2)).toMatch(/outside/);
  });

  it("a block at an arbitrary slot is refused; at the current slot it is inside", () => {
    expect(inside(blockV2Request(fi, "electra", beaconBlock("electra", SLOT + 100)).body, SLOT)).toMatch(/block slot/);
    expect(inside(blockV2Request(fi).body, SLOT)).toBeUndefined();
    expect(inside(blockV2Request(fi).body, SLOT + 3)).toMatch(/outside/);
  });

  it("fixed-value duties are signed within their look-ahead: randao 1 epoch, sync selection 2 epochs", () => {
    const epoch = Math.floor(SLOT / 32);
    expect(inside(randaoRevealRequest(fi, epoch + 1).body, SLOT)).toBeUndefined();
    expect(inside(randaoRevealRequest(fi, epoch + 2).body, SLOT)).toMatch(/randao reveal epoch/);
    expect(
      inside(syncCommitteeSelectionProofRequest(fi, syncAggregatorSelectionData(SLOT + 64)).body, SLOT),
    ).toBeUndefined();
    expect(inside(syncCommitteeSelectionProofRequest(fi, syncAggregatorSelectionData(SLOT + 96)).body, SLOT)).toMatch(
      /outside/,
    );
  });

  it("an exit may not be for a future epoch (EIP-7044); a registration may not be from the future", () => {
    const epoch = Math.floor(SLOT / 32);
    expect(inside(voluntaryExitRequest(fi, voluntaryExit(epoch)).body, SLOT)).toBeUndefined();
    expect(inside(voluntaryExitRequest(fi, voluntaryExit(194048)).body, SLOT)).toBeUndefined();
    expect(inside(voluntaryExitRequest(fi, voluntaryExit(epoch + 1)).body, SLOT)).toMatch(/after the current epoch/);
    const reg = validatorRegistration();
    reg.timestamp = GENESIS + SLOT * 12 + 3600;
    expect(inside(validatorRegistrationRequest(reg).body, SLOT)).toMatch(/timestamp/);
    reg.timestamp = GENESIS;
    expect(inside(validatorRegistrationRequest(reg).body, SLOT)).toBeUndefined();
  });
});

describe("proposal rules", () => {
  const refuse = (own: unknown, proposed: unknown) =>
    requestDescriptor(parse(own)).refuseProposal!(parse(own), parse(proposed));

  it("attestations: another head or target root is fine; another source or target epoch is not", () => {
    const own = attestationData(SLOT);
    const head = structuredClone(own);
    head.beaconBlockRoot = new Uint8Array(32).fill(9);
    head.target.root = new Uint8Array(32).fill(8);
    expect(refuse(attestationRequest(fi, own).body, attestationRequest(fi, head).body)).toBeUndefined();
    const source = structuredClone(own);
    source.source.root = new Uint8Array(32).fill(7);
    expect(refuse(attestationRequest(fi, own).body, attestationRequest(fi, source).body)).toMatch(/source/);
    const target = structuredClone(own);
    target.target.epoch -= 1;
    expect(refuse(attestationRequest(fi, own).body, attestationRequest(fi, target).body)).toMatch(/target epoch/);
    const fork = attestationRequest(mainnetForkInfo("fulu"), own).body;
    expect(refuse(attestationRequest(fi, own).body, fork)).toMatch(/fork_info/);
  });

  it("blocks: another proposer index is refused", () => {
    const own = blockV2Request(fi).body;
    const other = structuredClone(own) as unknown as { beacon_block: { block_header: { proposer_index: string } } };
    other.beacon_block.block_header.proposer_index = "7";
    expect(refuse(own, other)).toMatch(/proposer_index/);
    const sameSlot = structuredClone(own) as unknown as { beacon_block: { block_header: { body_root: string } } };
    sameSlot.beacon_block.block_header.body_root = ssz.Root.toJson(new Uint8Array(32).fill(3)) as string;
    expect(refuse(own, sameSlot)).toBeUndefined();
  });
});
