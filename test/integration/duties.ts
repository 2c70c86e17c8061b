/**
 * Sign request bodies for the wall-clock slot of mainnet, for cluster tests: nodes refuse any
 * duty outside a window around their own clock, so fixtures at fixed far slots do not sign.
 */
import { ssz } from "@lodestar/types";
import { PRESET_GENESIS_TIME, slotClock } from "../../src/eth2/clock.js";
import { resolveNetwork } from "../../src/eth2/networks.js";
import { parseSignRequest, requestSigningRoot } from "../../src/eth2/requests.js";
import {
  aggregateAndProofElectra,
  aggregateAndProofRequest,
  aggregateAndProofV2Request,
  aggregationSlotRequest,
  attestationData,
  attestationRequest,
  beaconBlock,
  blockRequest,
  blockV2Request,
  contributionAndProof,
  mainnetForkInfo,
  phase0Block,
  randaoRevealRequest,
  type SignRequestBody,
  syncAggregatorSelectionData,
  syncCommitteeContributionAndProofRequest,
  syncCommitteeMessage,
  syncCommitteeMessageRequest,
  syncCommitteeSelectionProofRequest,
  voluntaryExit,
  voluntaryExitRequest,
} from "../helpers/signRequests.js";

/** Mainnet's fork at the wall clock (Fulu since epoch 411392). */
export const FORK_INFO = mainnetForkInfo("fulu");
const mainnet = resolveNetwork("mainnet");
const clock = slotClock(PRESET_GENESIS_TIME.mainnet);

/** The wall-clock slot of mainnet. */
export function nowSlot(): number {
  return clock.currentSlot();
}

/** Waits until the wall-clock slot is past `slot` (at most 12 s a slot). */
export async function slotAfter(slot: number): Promise<number> {
  while (clock.currentSlot() <= slot) await new Promise((r) => setTimeout(r, 200));
  return clock.currentSlot();
}

/** The signing root of a body on mainnet. */
export function rootOf(body: unknown): Uint8Array {
  return requestSigningRoot(parseSignRequest(body), mainnet);
}

const hex32 = (tag: number) => `0x${tag.toString(16).padStart(2, "0").repeat(32)}`;

/** An attestation at `slot` (default now): target the slot's epoch, source the epoch before; `tag` sets the head root. */
export function attestation(opts: { slot?: number; head?: number; targetRoot?: number } = {}): SignRequestBody {
  const data = attestationData(opts.slot ?? nowSlot());
  const body = attestationRequest(FORK_INFO, data).body as unknown as {
    attestation: { beacon_block_root: string; target: { root: string } };
  };
  if (opts.head !== undefined) body.attestation.beacon_block_root = hex32(opts.head);
  if (opts.targetRoot !== undefined) body.attestation.target.root = hex32(opts.targetRoot);
  return body as unknown as SignRequestBody;
}

/** A BLOCK_V2 header at `slot` (default now) with proposer 42; `tag` sets its body root. */
export function blockHeader(opts: { slot?: number; tag?: number } = {}): SignRequestBody {
  const slot = opts.slot ?? nowSlot();
  const body = blockV2Request(FORK_INFO, "fulu", beaconBlock("fulu", slot)).body as unknown as {
    beacon_block: { block_header: { proposer_index: string; body_root: string } };
  };
  body.beacon_block.block_header.proposer_index = "42";
  if (opts.tag !== undefined) body.beacon_block.block_header.body_root = hex32(opts.tag);
  return body as unknown as SignRequestBody;
}

/** One body of each duty type the time window accepts now (deposit, registration and exit are built from the lock). */
export function currentDuties(): Record<string, SignRequestBody> {
  const slot = nowSlot();
  const epoch = Math.floor(slot / 32);
  return {
    AGGREGATION_SLOT: aggregationSlotRequest(FORK_INFO, slot).body,
    AGGREGATE_AND_PROOF: aggregateAndProofRequest(FORK_INFO, { value: aggregateAndProofElectra(slot) }).body,
    AGGREGATE_AND_PROOF_V2: aggregateAndProofV2Request(FORK_INFO, "fulu", aggregateAndProofElectra(slot)).body,
    ATTESTATION: attestation({ slot }),
    BLOCK: blockRequest(FORK_INFO, phase0Block(slot)).body,
    BLOCK_V2: blockHeader({ slot }),
    RANDAO_REVEAL: randaoRevealRequest(FORK_INFO, epoch).body,
    VOLUNTARY_EXIT: voluntaryExitRequest(FORK_INFO, voluntaryExit(epoch)).body,
    SYNC_COMMITTEE_MESSAGE: syncCommitteeMessageRequest(FORK_INFO, syncCommitteeMessage(slot)).body,
    SYNC_COMMITTEE_SELECTION_PROOF: syncCommitteeSelectionProofRequest(FORK_INFO, syncAggregatorSelectionData(slot))
      .body,
    SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF: syncCommitteeContributionAndProofRequest(
      FORK_INFO,
      contributionAndProof(slot),
    ).body,
  };
}

/** A DEPOSIT body for a deposit message (pubkey, withdrawal credentials, amount) on mainnet. */
export function depositBody(m: {
  pubkey: Uint8Array;
  withdrawalCredentials: Uint8Array;
  amount: number;
}): SignRequestBody {
  return {
    type: "DEPOSIT",
    deposit: { ...ssz.phase0.DepositMessage.toJson(m), genesis_fork_version: "0x00000000" } as Record<string, unknown>,
  } as SignRequestBody;
}

/** A VALIDATOR_REGISTRATION body. */
export function registrationBody(r: {
  feeRecipient: Uint8Array;
  gasLimit: number;
  timestamp: number;
  pubkey: Uint8Array;
}): SignRequestBody {
  return {
    type: "VALIDATOR_REGISTRATION",
    validator_registration: ssz.bellatrix.ValidatorRegistrationV1.toJson(r),
  } as SignRequestBody;
}
