/**
 * Realistic Web3Signer eth2 sign request bodies for tests (eth2, API, cluster): each `*Request`
 * builder returns `{type, body}` with the JSON a validator client POSTs to
 * `/api/v1/eth2/sign/{pubkey}`, built from @lodestar/types values serialised with `toJson` (snake_case,
 * decimal-string integers, 0x-hex bytes). The `*` value builders make those values; pass your own
 * value to a request builder to know exactly what is signed. Values are deterministic: roots and
 * points derive from labels, and slots sit in the epoch of the given `fork_info`.
 */
import { BitArray, type Type } from "@chainsafe/ssz";
import { type altair, type bellatrix, type electra, type phase0, ssz } from "@lodestar/types";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { BlockHeaderFork, SignRequestFork, SignRequestType } from "../../src/eth2/requests.js";

/** `fork_info` as Web3Signer takes it. */
export interface ForkInfoJson {
  fork: { previous_version: string; current_version: string; epoch: string };
  genesis_validators_root: string;
}

/** A sign request body: `type` plus the type's fields (JSON). */
export type SignRequestBody<T extends SignRequestType = SignRequestType> = { type: T } & Record<string, unknown>;

/** What every `*Request` builder returns. */
export interface SignRequestFixture<T extends SignRequestType = SignRequestType> {
  type: T;
  body: SignRequestBody<T>;
}

/** Mainnet preset slots per epoch. */
export const SLOTS_PER_EPOCH = 32;

/** Mainnet `genesis_validators_root`. */
export const MAINNET_GENESIS_VALIDATORS_ROOT = "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95";
/** Mainnet `GENESIS_FORK_VERSION`. */
export const MAINNET_GENESIS_FORK_VERSION = "0x00000000";

/** Mainnet fork versions and activation epochs (consensus-specs configs/mainnet.yaml). */
export const MAINNET_FORKS: Record<SignRequestFork, { version: string; epoch: number }> = {
  phase0: { version: "0x00000000", epoch: 0 },
  altair: { version: "0x01000000", epoch: 74240 },
  bellatrix: { version: "0x02000000", epoch: 144896 },
  capella: { version: "0x03000000", epoch: 194048 },
  deneb: { version: "0x04000000", epoch: 269568 },
  electra: { version: "0x05000000", epoch: 364032 },
  fulu: { version: "0x06000000", epoch: 411392 },
};

const FORK_ORDER = Object.keys(MAINNET_FORKS) as SignRequestFork[];

/** A `fork_info` from its parts (hex strings, epoch as a number). */
export function forkInfoJson(
  previousVersion: string,
  currentVersion: string,
  epoch: number | bigint,
  genesisValidatorsRoot: string,
): ForkInfoJson {
  return {
    fork: { previous_version: previousVersion, current_version: currentVersion, epoch: String(epoch) },
    genesis_validators_root: genesisValidatorsRoot,
  };
}

/** Mainnet's `fork_info` during `fork`, as Teku and Lighthouse send it (fork.epoch = its activation epoch). */
export function mainnetForkInfo(fork: SignRequestFork = "electra"): ForkInfoJson {
  const i = FORK_ORDER.indexOf(fork);
  const prev = MAINNET_FORKS[FORK_ORDER[Math.max(0, i - 1)]!];
  const cur = MAINNET_FORKS[fork];
  return forkInfoJson(prev.version, cur.version, cur.epoch, MAINNET_GENESIS_VALIDATORS_ROOT);
}

/** A slot in the epoch `fork_info.fork.epoch` (+ `epochOffset`), at `slotInEpoch`. */
export function slotIn(forkInfo: ForkInfoJson, epochOffset = 0, slotInEpoch = 7): number {
  return (Number(forkInfo.fork.epoch) + epochOffset) * SLOTS_PER_EPOCH + slotInEpoch;
}

// ---------------------------------------------------------------------------------------------
// Deterministic bytes

/** 32 bytes: sha256(label). */
export function testRoot(label: string): Uint8Array {
  return sha256(new TextEncoder().encode(label));
}

function scalar(label: string): bigint {
  const h = testRoot(label);
  let x = 0n;
  for (const b of h) x = (x << 8n) | BigInt(b);
  return (x % (bls12_381.fields.Fr.ORDER - 1n)) + 1n;
}

const g1Cache = new Map<string, Uint8Array>();
const g2Cache = new Map<string, Uint8Array>();

/** A valid compressed G1 point (48 bytes), as a BLS public key, derived from `label`. */
export function testPublicKey(label = "validator"): Uint8Array {
  let p = g1Cache.get(label);
  if (p === undefined) {
    p = bls12_381.G1.Point.BASE.multiply(scalar(`g1/${label}`)).toBytes();
    g1Cache.set(label, p);
  }
  return p;
}

/** A valid compressed G2 point (96 bytes), as a BLS signature, derived from `label`. */
export function testSignature(label = "signature"): Uint8Array {
  let p = g2Cache.get(label);
  if (p === undefined) {
    p = bls12_381.G2.Point.BASE.multiply(scalar(`g2/${label}`)).toBytes();
    g2Cache.set(label, p);
  }
  return p;
}

function bits(length: number, set: number[]): BitArray {
  const b = BitArray.fromBitLen(length);
  for (const i of set) b.set(i, true);
  return b;
}

function address(label: string): Uint8Array {
  return testRoot(label).subarray(0, 20);
}

// ---------------------------------------------------------------------------------------------
// Values

/** `AttestationData` at `slot`: committee 12, target = the slot's epoch, source = the epoch before. */
export function attestationData(slot: number): phase0.AttestationData {
  const epoch = Math.floor(slot / SLOTS_PER_EPOCH);
  const d = ssz.phase0.AttestationData.defaultValue();
  d.slot = slot;
  d.index = 12;
  d.beaconBlockRoot = testRoot(`head/${slot}`);
  d.source = { epoch: epoch - 1, root: testRoot(`checkpoint/${epoch - 1}`) };
  d.target = { epoch, root: testRoot(`checkpoint/${epoch}`) };
  return d;
}

/** A phase0 `AggregateAndProof` (one committee of 412, 300 attesters) at `slot`. */
export function aggregateAndProofPhase0(slot: number): phase0.AggregateAndProof {
  const v = ssz.phase0.AggregateAndProof.defaultValue();
  v.aggregatorIndex = 812_345;
  v.aggregate = {
    aggregationBits: bits(
      412,
      [...Array(300).keys()].map((i) => i + 50),
    ),
    data: attestationData(slot),
    signature: testSignature(`aggregate/${slot}`),
  };
  v.selectionProof = testSignature(`selection/${slot}`);
  return v;
}

/** An Electra `AggregateAndProof` (EIP-7549: committee 12 in `committee_bits`, index 0) at `slot`. */
export function aggregateAndProofElectra(slot: number): electra.AggregateAndProof {
  const v = ssz.electra.AggregateAndProof.defaultValue();
  v.aggregatorIndex = 812_345;
  v.aggregate = {
    aggregationBits: bits(
      430,
      [...Array(280).keys()].map((i) => i + 100),
    ),
    data: { ...attestationData(slot), index: 0 },
    signature: testSignature(`aggregate/${slot}`),
    committeeBits: bits(64, [12]),
  };
  v.selectionProof = testSignature(`selection/${slot}`);
  return v;
}

function phase0Body(slot: number): phase0.BeaconBlockBody {
  const body = ssz.phase0.BeaconBlockBody.defaultValue();
  body.randaoReveal = testSignature(`randao/${slot}`);
  body.eth1Data = { depositRoot: testRoot("deposit-root"), depositCount: 1_234_567n, blockHash: testRoot("eth1") };
  body.graffiti = new TextEncoder().encode("cohort/test".padEnd(32, "\0"));
  body.attestations = [0, 1, 2].map((c) => ({
    aggregationBits: bits(400, [c, c + 10, c + 200]),
    data: { ...attestationData(slot - 1), index: c },
    signature: testSignature(`block-attestation/${slot}/${c}`),
  }));
  body.voluntaryExits = [
    {
      message: { epoch: Math.floor(slot / SLOTS_PER_EPOCH) - 2, validatorIndex: 4242 },
      signature: testSignature("exit"),
    },
  ];
  return body;
}

/** A whole phase0 `BeaconBlock` at `slot`, with attestations and an exit. */
export function phase0Block(slot: number): phase0.BeaconBlock {
  const b = ssz.phase0.BeaconBlock.defaultValue();
  b.slot = slot;
  b.proposerIndex = 345_678;
  b.parentRoot = testRoot(`parent/${slot}`);
  b.stateRoot = testRoot(`state/${slot}`);
  b.body = phase0Body(slot);
  return b;
}

/** A whole altair `BeaconBlock` at `slot`, with a sync aggregate of 500 participants. */
export function altairBlock(slot: number): altair.BeaconBlock {
  const b = ssz.altair.BeaconBlock.defaultValue();
  b.slot = slot;
  b.proposerIndex = 345_678;
  b.parentRoot = testRoot(`parent/${slot}`);
  b.stateRoot = testRoot(`state/${slot}`);
  b.body = {
    ...phase0Body(slot),
    syncAggregate: {
      syncCommitteeBits: bits(512, [...Array(500).keys()]),
      syncCommitteeSignature: testSignature(`sync-aggregate/${slot}`),
    },
  };
  return b;
}

/** The SSZ type of `fork`'s `BeaconBlock`. */
export function beaconBlockType(fork: SignRequestFork): Type<unknown> {
  return ssz[fork].BeaconBlock as unknown as Type<unknown>;
}

/**
 * A whole `BeaconBlock` of `fork` at `slot` (from bellatrix on: an execution payload header's
 * fields set on the default body), as the value of {@link beaconBlockType}.
 */
export function beaconBlock(fork: SignRequestFork, slot: number): unknown {
  if (fork === "phase0") return phase0Block(slot);
  if (fork === "altair") return altairBlock(slot);
  const b = beaconBlockType(fork).defaultValue() as Record<string, unknown> & { body: Record<string, unknown> };
  const alt = altairBlock(slot);
  b.slot = alt.slot;
  b.proposerIndex = alt.proposerIndex;
  b.parentRoot = alt.parentRoot;
  b.stateRoot = alt.stateRoot;
  const payload = b.body.executionPayload as Record<string, unknown>;
  payload.parentHash = testRoot(`el-parent/${slot}`);
  payload.feeRecipient = address("fee-recipient");
  payload.blockNumber = 22_000_000 + slot;
  payload.gasLimit = 36_000_000;
  payload.gasUsed = 12_345_678;
  payload.timestamp = 1_606_824_023 + 12 * slot;
  payload.blockHash = testRoot(`el-block/${slot}`);
  payload.transactions = [new Uint8Array([0x02, 0xf8, 0x70, 1, 2, 3])];
  b.body.randaoReveal = alt.body.randaoReveal;
  b.body.eth1Data = alt.body.eth1Data;
  b.body.graffiti = alt.body.graffiti;
  b.body.syncAggregate = alt.body.syncAggregate;
  return b;
}

/** The `BeaconBlockHeader` of a `fork` block (`body_root` = hash_tree_root of its body). */
export function blockHeaderOf(fork: SignRequestFork, block: unknown): phase0.BeaconBlockHeader {
  const b = block as {
    slot: number;
    proposerIndex: number;
    parentRoot: Uint8Array;
    stateRoot: Uint8Array;
    body: unknown;
  };
  const bodyType = ssz[fork].BeaconBlockBody as unknown as Type<unknown>;
  return {
    slot: b.slot,
    proposerIndex: b.proposerIndex,
    parentRoot: b.parentRoot,
    stateRoot: b.stateRoot,
    bodyRoot: bodyType.hashTreeRoot(b.body),
  };
}

/** A `DepositMessage` of 32 ETH with 0x01 credentials. */
export function depositMessage(amountGwei = 32_000_000_000): phase0.DepositMessage {
  const creds = new Uint8Array(32);
  creds[0] = 0x01;
  creds.set(address("withdrawal"), 12);
  return { pubkey: testPublicKey(), withdrawalCredentials: creds, amount: amountGwei };
}

/** A `VoluntaryExit` of validator 512_345 at `epoch`. */
export function voluntaryExit(epoch: number, validatorIndex = 512_345): phase0.VoluntaryExit {
  return { epoch, validatorIndex };
}

/** Web3Signer's `sync_committee_message` value: the head block root at `slot`. */
export function syncCommitteeMessage(slot: number): { beaconBlockRoot: Uint8Array; slot: number } {
  return { beaconBlockRoot: testRoot(`head/${slot}`), slot };
}

/** `SyncAggregatorSelectionData` at `slot`, subcommittee 2. */
export function syncAggregatorSelectionData(slot: number): altair.SyncAggregatorSelectionData {
  return { slot, subcommitteeIndex: 2 };
}

/** A `ContributionAndProof` at `slot`: subcommittee 2, 100 of 128 participants. */
export function contributionAndProof(slot: number): altair.ContributionAndProof {
  return {
    aggregatorIndex: 812_345,
    contribution: {
      slot,
      beaconBlockRoot: testRoot(`head/${slot}`),
      subcommitteeIndex: 2,
      aggregationBits: bits(
        128,
        [...Array(100).keys()].map((i) => i + 20),
      ),
      signature: testSignature(`contribution/${slot}`),
    },
    selectionProof: testSignature(`sync-selection/${slot}`),
  };
}

/** A builder `ValidatorRegistrationV1`: 36M gas, a 2025 timestamp (unix seconds). */
export function validatorRegistration(): bellatrix.ValidatorRegistrationV1 {
  return {
    feeRecipient: address("fee-recipient"),
    gasLimit: 36_000_000,
    timestamp: 1_750_000_000,
    pubkey: testPublicKey(),
  };
}

// ---------------------------------------------------------------------------------------------
// Request bodies

function request<T extends SignRequestType>(
  type: T,
  forkInfo: ForkInfoJson | undefined,
  fields: Record<string, unknown>,
): SignRequestFixture<T> {
  const body = { type, ...(forkInfo === undefined ? {} : { fork_info: forkInfo }), ...fields } as SignRequestBody<T>;
  return { type, body };
}

/** `AGGREGATION_SLOT`: `aggregation_slot: {slot}`. */
export function aggregationSlotRequest(
  forkInfo: ForkInfoJson,
  slot = slotIn(forkInfo),
): SignRequestFixture<"AGGREGATION_SLOT"> {
  return request("AGGREGATION_SLOT", forkInfo, { aggregation_slot: { slot: String(slot) } });
}

/**
 * `AGGREGATE_AND_PROOF`. `form: "flat"` (default) sends the container itself, as Lighthouse does
 * (Electra's when `value` is Electra's); `form: "versioned"` wraps it as `{version, data}` with
 * `fork` (upper case).
 */
export function aggregateAndProofRequest(
  forkInfo: ForkInfoJson,
  opts: {
    form?: "flat" | "versioned";
    fork?: SignRequestFork;
    value?: phase0.AggregateAndProof | electra.AggregateAndProof;
  } = {},
): SignRequestFixture<"AGGREGATE_AND_PROOF"> {
  const fork = opts.fork ?? "phase0";
  const value = opts.value ?? aggregateAndProofPhase0(slotIn(forkInfo));
  const data = aggregateJson(value);
  const payload = opts.form === "versioned" ? { version: fork.toUpperCase(), data } : data;
  return request("AGGREGATE_AND_PROOF", forkInfo, { aggregate_and_proof: payload });
}

/** `AGGREGATE_AND_PROOF_V2`: `aggregate_and_proof: {version, data}`; Electra's container from ELECTRA on. */
export function aggregateAndProofV2Request(
  forkInfo: ForkInfoJson,
  fork: SignRequestFork = "electra",
  value?: phase0.AggregateAndProof | electra.AggregateAndProof,
): SignRequestFixture<"AGGREGATE_AND_PROOF_V2"> {
  const postElectra = fork === "electra" || fork === "fulu";
  const slot = slotIn(forkInfo);
  const v = value ?? (postElectra ? aggregateAndProofElectra(slot) : aggregateAndProofPhase0(slot));
  return request("AGGREGATE_AND_PROOF_V2", forkInfo, {
    aggregate_and_proof: { version: fork.toUpperCase(), data: aggregateJson(v) },
  });
}

function aggregateJson(value: phase0.AggregateAndProof | electra.AggregateAndProof): unknown {
  return "committeeBits" in value.aggregate
    ? ssz.electra.AggregateAndProof.toJson(value as electra.AggregateAndProof)
    : ssz.phase0.AggregateAndProof.toJson(value);
}

/** `ATTESTATION`: `attestation` is the `AttestationData`. */
export function attestationRequest(
  forkInfo: ForkInfoJson,
  data: phase0.AttestationData = attestationData(slotIn(forkInfo)),
): SignRequestFixture<"ATTESTATION"> {
  return request("ATTESTATION", forkInfo, { attestation: ssz.phase0.AttestationData.toJson(data) });
}

/** `BLOCK` (deprecated): a whole phase0 `block`. */
export function blockRequest(
  forkInfo: ForkInfoJson,
  block: phase0.BeaconBlock = phase0Block(slotIn(forkInfo)),
): SignRequestFixture<"BLOCK"> {
  return request("BLOCK", forkInfo, { block: ssz.phase0.BeaconBlock.toJson(block) });
}

/**
 * `BLOCK_V2`: `beacon_block: {version, block}` for phase0/altair, `{version, block_header}` from
 * bellatrix on (the header of `block`, which defaults to {@link beaconBlock}`(fork, slot)`).
 */
export function blockV2Request(
  forkInfo: ForkInfoJson,
  fork: SignRequestFork = "electra",
  block: unknown = beaconBlock(fork, slotIn(forkInfo)),
): SignRequestFixture<"BLOCK_V2"> {
  const version = fork.toUpperCase();
  const beacon_block =
    fork === "phase0" || fork === "altair"
      ? { version, block: beaconBlockType(fork).toJson(block) }
      : { version, block_header: ssz.phase0.BeaconBlockHeader.toJson(blockHeaderOf(fork as BlockHeaderFork, block)) };
  return request("BLOCK_V2", forkInfo, { beacon_block });
}

/** `DEPOSIT` (no `fork_info`): `deposit: {pubkey, withdrawal_credentials, amount, genesis_fork_version}`. */
export function depositRequest(
  message: phase0.DepositMessage = depositMessage(),
  genesisForkVersion = MAINNET_GENESIS_FORK_VERSION,
): SignRequestFixture<"DEPOSIT"> {
  return request("DEPOSIT", undefined, {
    deposit: { ...ssz.phase0.DepositMessage.toJson(message), genesis_fork_version: genesisForkVersion },
  });
}

/** `RANDAO_REVEAL`: `randao_reveal: {epoch}`. */
export function randaoRevealRequest(
  forkInfo: ForkInfoJson,
  epoch = Number(forkInfo.fork.epoch),
): SignRequestFixture<"RANDAO_REVEAL"> {
  return request("RANDAO_REVEAL", forkInfo, { randao_reveal: { epoch: String(epoch) } });
}

/** `VOLUNTARY_EXIT`: `voluntary_exit: {epoch, validator_index}`. */
export function voluntaryExitRequest(
  forkInfo: ForkInfoJson,
  exit: phase0.VoluntaryExit = voluntaryExit(Number(forkInfo.fork.epoch)),
): SignRequestFixture<"VOLUNTARY_EXIT"> {
  return request("VOLUNTARY_EXIT", forkInfo, { voluntary_exit: ssz.phase0.VoluntaryExit.toJson(exit) });
}

/** `SYNC_COMMITTEE_MESSAGE`: `sync_committee_message: {beacon_block_root, slot}`. */
export function syncCommitteeMessageRequest(
  forkInfo: ForkInfoJson,
  message = syncCommitteeMessage(slotIn(forkInfo)),
): SignRequestFixture<"SYNC_COMMITTEE_MESSAGE"> {
  return request("SYNC_COMMITTEE_MESSAGE", forkInfo, {
    sync_committee_message: {
      beacon_block_root: ssz.Root.toJson(message.beaconBlockRoot),
      slot: String(message.slot),
    },
  });
}

/** `SYNC_COMMITTEE_SELECTION_PROOF`: `sync_aggregator_selection_data: {slot, subcommittee_index}`. */
export function syncCommitteeSelectionProofRequest(
  forkInfo: ForkInfoJson,
  data: altair.SyncAggregatorSelectionData = syncAggregatorSelectionData(slotIn(forkInfo)),
): SignRequestFixture<"SYNC_COMMITTEE_SELECTION_PROOF"> {
  return request("SYNC_COMMITTEE_SELECTION_PROOF", forkInfo, {
    sync_aggregator_selection_data: ssz.altair.SyncAggregatorSelectionData.toJson(data),
  });
}

/** `SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF`: `contribution_and_proof`. */
export function syncCommitteeContributionAndProofRequest(
  forkInfo: ForkInfoJson,
  value: altair.ContributionAndProof = contributionAndProof(slotIn(forkInfo)),
): SignRequestFixture<"SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF"> {
  return request("SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF", forkInfo, {
    contribution_and_proof: ssz.altair.ContributionAndProof.toJson(value),
  });
}

/** `VALIDATOR_REGISTRATION` (no `fork_info`): `validator_registration: {fee_recipient, gas_limit, timestamp, pubkey}`. */
export function validatorRegistrationRequest(
  value: bellatrix.ValidatorRegistrationV1 = validatorRegistration(),
): SignRequestFixture<"VALIDATOR_REGISTRATION"> {
  return request("VALIDATOR_REGISTRATION", undefined, {
    validator_registration: ssz.bellatrix.ValidatorRegistrationV1.toJson(value),
  });
}

/**
 * One request of each of the 13 types, in `SIGN_REQUEST_TYPES` order, for `forkInfo` during `fork`
 * (default electra): AGGREGATE_AND_PROOF flat (Electra's container from electra on, as Lighthouse),
 * AGGREGATE_AND_PROOF_V2 and BLOCK_V2 versioned with `fork`.
 */
export function allSignRequests(
  forkInfo: ForkInfoJson = mainnetForkInfo(),
  fork: SignRequestFork = "electra",
): SignRequestFixture[] {
  const slot = slotIn(forkInfo);
  const postElectra = fork === "electra" || fork === "fulu";
  return [
    aggregationSlotRequest(forkInfo),
    aggregateAndProofRequest(forkInfo, {
      value: postElectra ? aggregateAndProofElectra(slot) : aggregateAndProofPhase0(slot),
    }),
    aggregateAndProofV2Request(forkInfo, fork),
    attestationRequest(forkInfo),
    blockRequest(forkInfo),
    blockV2Request(forkInfo, fork),
    depositRequest(),
    randaoRevealRequest(forkInfo),
    voluntaryExitRequest(forkInfo),
    syncCommitteeMessageRequest(forkInfo),
    syncCommitteeSelectionProofRequest(forkInfo),
    syncCommitteeContributionAndProofRequest(forkInfo),
    validatorRegistrationRequest(),
  ];
}

/** A copy of `fixture` carrying `root` (0x-hex or bytes) as `signingRoot` (Lodestar) or `signing_root`. */
export function withSigningRoot<T extends SignRequestType>(
  fixture: SignRequestFixture<T>,
  root: Uint8Array | string,
  spelling: "signingRoot" | "signing_root" = "signingRoot",
): SignRequestFixture<T> {
  const hex = typeof root === "string" ? root : ssz.Root.toJson(root);
  return { type: fixture.type, body: { ...fixture.body, [spelling]: hex } };
}
