/**
 * The 13 Web3Signer eth2 sign request types (`POST /api/v1/eth2/sign/{identifier}`) as typed values,
 * and one descriptor per type ({@link SIGN_REQUEST_DESCRIPTORS}: schema, parse, signing root per
 * consensus-specs, slashable part, duty rules). Web3Signer API:
 * https://github.com/Consensys/web3signer/blob/master/openapi-specs/eth2/signing/schemas.yaml
 * (rendered at https://consensys.github.io/web3signer/web3signer-eth2.html).
 */
import type { Type } from "@chainsafe/ssz";
import {
  DOMAIN_AGGREGATE_AND_PROOF,
  DOMAIN_APPLICATION_BUILDER,
  DOMAIN_BEACON_ATTESTER,
  DOMAIN_BEACON_PROPOSER,
  DOMAIN_CONTRIBUTION_AND_PROOF,
  DOMAIN_RANDAO,
  DOMAIN_SELECTION_PROOF,
  DOMAIN_SYNC_COMMITTEE,
  DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF,
  DOMAIN_VOLUNTARY_EXIT,
  SLOTS_PER_EPOCH,
} from "@lodestar/params";
import { type altair, type bellatrix, type electra, type phase0, ssz } from "@lodestar/types";
import { z } from "zod";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import type { Root } from "../lib/types.js";
import { computeDomain, computeSigningRoot, depositDomain } from "./domain.js";
import {
  ATTESTATION_PAST_SLOTS,
  type Duty,
  type DutyDescriptor,
  EXIT_FUTURE_EPOCHS,
  epochWindow,
  FIXED_LOOKAHEAD_EPOCHS,
  FIXED_PAST_EPOCHS,
  REGISTRATION_FUTURE_SECONDS,
  SLOT_DUTY_PAST_SLOTS,
  SYNC_SELECTION_LOOKAHEAD_EPOCHS,
  sameForkInfo,
  slotWindow,
} from "./duties.js";
import { type Network, PRESET_NETWORK_NAMES, resolveNetwork } from "./networks.js";
import { expected, sszJsonSchema, sszJsonShape } from "./requests/sszJson.js";

/** The Web3Signer eth2 sign request types, exactly as the `type` field spells them. */
export const SIGN_REQUEST_TYPES = [
  "AGGREGATION_SLOT",
  "AGGREGATE_AND_PROOF",
  "AGGREGATE_AND_PROOF_V2",
  "ATTESTATION",
  "BLOCK",
  "BLOCK_V2",
  "DEPOSIT",
  "RANDAO_REVEAL",
  "VOLUNTARY_EXIT",
  "SYNC_COMMITTEE_MESSAGE",
  "SYNC_COMMITTEE_SELECTION_PROOF",
  "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF",
  "VALIDATOR_REGISTRATION",
] as const;

/** A Web3Signer eth2 sign request type (the body's `type`). */
export type SignRequestType = (typeof SIGN_REQUEST_TYPES)[number];

/**
 * Forks a versioned request (`beacon_block.version`, `aggregate_and_proof.version`) may name, in
 * order. On the wire they are upper case (`PHASE0` … `FULU`); any case is accepted.
 */
export const SIGN_REQUEST_FORKS = ["phase0", "altair", "bellatrix", "capella", "deneb", "electra", "fulu"] as const;

/** A fork named by a versioned request, lower case as @lodestar/params spells it. */
export type SignRequestFork = (typeof SIGN_REQUEST_FORKS)[number];

/** Forks whose `BLOCK_V2` carries a `block_header` rather than a whole block. */
export type BlockHeaderFork = Exclude<SignRequestFork, "phase0" | "altair">;

/**
 * `fork_info`: the fork at the message's slot and the chain's genesis validators root. The domain of
 * a message at epoch e uses `fork.previousVersion` when e < `fork.epoch`, else `fork.currentVersion`
 * (consensus-specs phase0 `get_domain`).
 */
export interface ForkInfo {
  /** `previousVersion`, `currentVersion` (4 bytes each) and `epoch` (a JS number). */
  readonly fork: phase0.Fork;
  /** 32 bytes. */
  readonly genesisValidatorsRoot: Root;
}

/** Fields every parsed request has. */
export interface SignRequestBase {
  /** The signing root the client sent (`signingRoot`, or `signing_root`), 32 bytes, if it sent one. */
  readonly signingRoot?: Root | undefined;
  /**
   * The validated JSON body, unknown fields dropped: what {@link encodeSignRequest} forwards to peers.
   * Re-parsing it yields an equal request.
   */
  readonly json: Readonly<Record<string, unknown>>;
}

/** `AGGREGATION_SLOT`: the aggregator selection proof signs the slot (phase0 validator.md § Aggregation selection). */
export interface AggregationSlotRequest extends SignRequestBase {
  readonly type: "AGGREGATION_SLOT";
  readonly forkInfo: ForkInfo;
  /** `aggregation_slot: {slot}`. */
  readonly aggregationSlot: { readonly slot: number };
}

/**
 * An `AggregateAndProof` as sent: Web3Signer's `{version, data}` form (`version` set), or the flat
 * container (`version` undefined; Lighthouse sends it even for Electra). `container` says which SSZ
 * container it is: Electra's (`aggregate.committee_bits`, EIP-7549) from `ELECTRA` on, or when a
 * flat body has `aggregate.committee_bits`; phase0's otherwise.
 */
export type AggregateAndProofMessage =
  | {
      readonly container: "phase0";
      readonly version: SignRequestFork | undefined;
      readonly data: phase0.AggregateAndProof;
    }
  | {
      readonly container: "electra";
      readonly version: SignRequestFork | undefined;
      readonly data: electra.AggregateAndProof;
    };

/** `AGGREGATE_AND_PROOF` (deprecated by Web3Signer): `aggregate_and_proof`, flat or `{version, data}`. */
export interface AggregateAndProofRequest extends SignRequestBase {
  readonly type: "AGGREGATE_AND_PROOF";
  readonly forkInfo: ForkInfo;
  readonly aggregateAndProof: AggregateAndProofMessage;
}

/** `AGGREGATE_AND_PROOF_V2`: `aggregate_and_proof: {version, data}` (a flat body is accepted too, as Web3Signer does). */
export interface AggregateAndProofV2Request extends SignRequestBase {
  readonly type: "AGGREGATE_AND_PROOF_V2";
  readonly forkInfo: ForkInfo;
  readonly aggregateAndProof: AggregateAndProofMessage;
}

/** `ATTESTATION`: `attestation` is the `AttestationData` voted for. */
export interface AttestationRequest extends SignRequestBase {
  readonly type: "ATTESTATION";
  readonly forkInfo: ForkInfo;
  readonly attestation: phase0.AttestationData;
}

/** `BLOCK` (deprecated by Web3Signer): a whole phase0 `block`. */
export interface BlockRequest extends SignRequestBase {
  readonly type: "BLOCK";
  readonly forkInfo: ForkInfo;
  readonly block: phase0.BeaconBlock;
}

/**
 * `BLOCK_V2`'s `beacon_block`: a whole block for phase0 and altair, a `block_header` from bellatrix
 * on. A header's hash_tree_root equals its block's (`body_root` = hash_tree_root(body)).
 */
export type BeaconBlockMessage =
  | { readonly version: "phase0"; readonly block: phase0.BeaconBlock }
  | { readonly version: "altair"; readonly block: altair.BeaconBlock }
  | { readonly version: BlockHeaderFork; readonly blockHeader: phase0.BeaconBlockHeader };

/** `BLOCK_V2`: `beacon_block: {version, block | block_header}`. */
export interface BlockV2Request extends SignRequestBase {
  readonly type: "BLOCK_V2";
  readonly forkInfo: ForkInfo;
  readonly beaconBlock: BeaconBlockMessage;
}

/**
 * `DEPOSIT`: `deposit: {pubkey (48 bytes), withdrawal_credentials (32), amount (gwei),
 * genesis_fork_version (4)}`. No `fork_info`: deposits sign with the genesis fork version given.
 */
export interface DepositRequest extends SignRequestBase {
  readonly type: "DEPOSIT";
  readonly forkInfo?: ForkInfo | undefined;
  readonly deposit: phase0.DepositMessage & { readonly genesisForkVersion: Uint8Array };
}

/** `RANDAO_REVEAL`: signs the epoch (phase0 validator.md § Randao reveal). */
export interface RandaoRevealRequest extends SignRequestBase {
  readonly type: "RANDAO_REVEAL";
  readonly forkInfo: ForkInfo;
  /** `randao_reveal: {epoch}`. */
  readonly randaoReveal: { readonly epoch: number };
}

/** The beacon API's `SignedVoluntaryExit` JSON (uint64s as decimal strings, signature 96 bytes 0x-hex). */
export interface SignedVoluntaryExitJson {
  message: { epoch: string; validator_index: string };
  signature: string;
}

/** `VOLUNTARY_EXIT`: `voluntary_exit: {epoch, validator_index}`. */
export interface VoluntaryExitRequest extends SignRequestBase {
  readonly type: "VOLUNTARY_EXIT";
  readonly forkInfo: ForkInfo;
  readonly voluntaryExit: phase0.VoluntaryExit;
}

/** `SYNC_COMMITTEE_MESSAGE`: signs `beacon_block_root` (altair validator.md § Sync committee messages). */
export interface SyncCommitteeMessageRequest extends SignRequestBase {
  readonly type: "SYNC_COMMITTEE_MESSAGE";
  readonly forkInfo: ForkInfo;
  /** `sync_committee_message: {beacon_block_root (32 bytes), slot}`. */
  readonly syncCommitteeMessage: { readonly beaconBlockRoot: Root; readonly slot: number };
}

/** `SYNC_COMMITTEE_SELECTION_PROOF`: signs `SyncAggregatorSelectionData` (altair validator.md § Aggregation selection). */
export interface SyncCommitteeSelectionProofRequest extends SignRequestBase {
  readonly type: "SYNC_COMMITTEE_SELECTION_PROOF";
  readonly forkInfo: ForkInfo;
  readonly syncAggregatorSelectionData: altair.SyncAggregatorSelectionData;
}

/** `SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF`: signs `ContributionAndProof` (altair validator.md § Broadcast sync committee contribution). */
export interface SyncCommitteeContributionAndProofRequest extends SignRequestBase {
  readonly type: "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF";
  readonly forkInfo: ForkInfo;
  readonly contributionAndProof: altair.ContributionAndProof;
}

/**
 * `VALIDATOR_REGISTRATION`: `validator_registration: {fee_recipient (20 bytes), gas_limit,
 * timestamp (unix seconds), pubkey (48 bytes)}`, the builder-specs `ValidatorRegistrationV1`. No `fork_info`.
 */
export interface ValidatorRegistrationRequest extends SignRequestBase {
  readonly type: "VALIDATOR_REGISTRATION";
  readonly forkInfo?: ForkInfo | undefined;
  readonly validatorRegistration: bellatrix.ValidatorRegistrationV1;
}

/**
 * A parsed, validated Web3Signer sign request, discriminated by `type`. Integers are JS numbers
 * (as in @lodestar/types; at most 2^53 − 1, except gwei-typed `UintBn64` fields); bytes are Uint8Arrays.
 */
export type SignRequest =
  | AggregationSlotRequest
  | AggregateAndProofRequest
  | AggregateAndProofV2Request
  | AttestationRequest
  | BlockRequest
  | BlockV2Request
  | DepositRequest
  | RandaoRevealRequest
  | VoluntaryExitRequest
  | SyncCommitteeMessageRequest
  | SyncCommitteeSelectionProofRequest
  | SyncCommitteeContributionAndProofRequest
  | ValidatorRegistrationRequest;

// ---------------------------------------------------------------------------------------------
// Parsing

type Json = Record<string, unknown>;

const ROOT = sszJsonSchema(ssz.Root);
const SLOT = sszJsonSchema(ssz.Slot);
const EPOCH = sszJsonSchema(ssz.Epoch);
const FORK_INFO = z.object(
  { fork: sszJsonSchema(ssz.phase0.Fork), genesis_validators_root: ROOT },
  expected("an object with fork and genesis_validators_root"),
);
const VERSION = z.string(expected("a fork name")).superRefine((s, ctx) => {
  if (!(SIGN_REQUEST_FORKS as readonly string[]).includes(s.toLowerCase())) {
    ctx.addIssue({
      code: "custom",
      message: `must be one of ${SIGN_REQUEST_FORKS.map((f) => f.toUpperCase()).join(", ")}, got "${s.slice(0, 24)}"`,
    });
  }
});

/** Types whose signing root does not depend on `fork_info` (Web3Signer does not require it). */
const NO_FORK_INFO: ReadonlySet<SignRequestType> = new Set(["DEPOSIT", "VALIDATOR_REGISTRATION"]);

const schemaCache = new Map<string, z.ZodType>();

function envelope(type: SignRequestType, variant: string, fields: () => Record<string, z.ZodType>): z.ZodType {
  const key = `${type}/${variant}`;
  let schema = schemaCache.get(key);
  if (schema === undefined) {
    schema = z.object(
      {
        type: z.literal(type),
        fork_info: NO_FORK_INFO.has(type) ? FORK_INFO.nullish() : FORK_INFO,
        signingRoot: ROOT.nullish(),
        signing_root: ROOT.nullish(),
        ...fields(),
      },
      expected("a JSON object"),
    );
    schemaCache.set(key, schema);
  }
  return schema;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** True when `v` is one of the 13 Web3Signer request type names ({@link SIGN_REQUEST_TYPES}). */
export function isSignRequestType(v: unknown): v is SignRequestType {
  return typeof v === "string" && (SIGN_REQUEST_TYPES as readonly string[]).includes(v);
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out.length === 0 ? String(p) : `.${String(p)}`;
  }
  return out.length === 0 ? "body" : out;
}

function validate(schema: z.ZodType, value: unknown): Json {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = formatPath(issue?.path ?? []);
    throw new InputError(field, `"${field}" ${issue?.message ?? "is invalid"}`, { cause: r.error });
  }
  return r.data as Json;
}

function forkOf(version: string): SignRequestFork {
  return version.toLowerCase() as SignRequestFork;
}

function isPostElectra(fork: SignRequestFork): boolean {
  return SIGN_REQUEST_FORKS.indexOf(fork) >= SIGN_REQUEST_FORKS.indexOf("electra");
}

function obj(j: Json, key: string): Json {
  return j[key] as Json;
}

function fromJson<T>(type: Type<T>, json: unknown, field: string): T {
  try {
    return type.fromJson(json);
  } catch (err) {
    // Unreachable after validation; kept so a gap between schema and fromJson is still a 400.
    throw new InputError(field, `"${field}" is invalid: ${(err as Error).message}`, { cause: err });
  }
}

function parseForkInfo(j: Json): ForkInfo | undefined {
  const fi = j.fork_info;
  if (!isObject(fi)) return undefined;
  return {
    fork: fromJson(ssz.phase0.Fork, fi.fork, "fork_info.fork"),
    genesisValidatorsRoot: fromJson(ssz.Root, fi.genesis_validators_root, "fork_info.genesis_validators_root") as Root,
  };
}

function parseSigningRoot(j: Json): Root | undefined {
  const camel =
    typeof j.signingRoot === "string" ? (fromJson(ssz.Root, j.signingRoot, "signingRoot") as Root) : undefined;
  const snake =
    typeof j.signing_root === "string" ? (fromJson(ssz.Root, j.signing_root, "signing_root") as Root) : undefined;
  if (camel !== undefined && snake !== undefined && !bytesEqual(camel, snake)) {
    throw new InputError("signingRoot", `"signingRoot" ${toHex(camel)} and "signing_root" ${toHex(snake)} differ`);
  }
  return camel ?? snake;
}

function parseAggregateAndProof(j: Json): AggregateAndProofMessage {
  const raw = obj(j, "aggregate_and_proof");
  const versioned = typeof raw.version === "string" && isObject(raw.data);
  const version = versioned ? forkOf(raw.version as string) : undefined;
  const data = versioned ? raw.data : raw;
  const field = versioned ? "aggregate_and_proof.data" : "aggregate_and_proof";
  // Validated JSON: the phase0 schema dropped any `committee_bits`, so its presence means Electra.
  const electraShape = version !== undefined ? isPostElectra(version) : "committee_bits" in obj(raw, "aggregate");
  return electraShape
    ? { container: "electra", version, data: fromJson(ssz.electra.AggregateAndProof, data, field) }
    : { container: "phase0", version, data: fromJson(ssz.phase0.AggregateAndProof, data, field) };
}

function parseBeaconBlock(j: Json): BeaconBlockMessage {
  const raw = obj(j, "beacon_block");
  const version = forkOf(raw.version as string);
  if (version === "phase0") {
    return { version, block: fromJson(ssz.phase0.BeaconBlock, raw.block, "beacon_block.block") };
  }
  if (version === "altair") {
    return { version, block: fromJson(ssz.altair.BeaconBlock, raw.block, "beacon_block.block") };
  }
  return {
    version,
    blockHeader: fromJson(ssz.phase0.BeaconBlockHeader, raw.block_header, "beacon_block.block_header"),
  };
}

/**
 * Validates and decodes a Web3Signer eth2 sign request body (already JSON-parsed).
 *
 * Per the Web3Signer API: integers are decimal strings, bytes 0x-hex (any case); `fork_info` is
 * required except for `DEPOSIT` and `VALIDATOR_REGISTRATION`; `signingRoot` (Lodestar, Teku,
 * Lighthouse) or `signing_root` is optional; unknown fields are ignored (Nimbus sends `proofs`).
 * `BLOCK_V2` needs `block` for PHASE0/ALTAIR and `block_header` from BELLATRIX on. Versions are
 * PHASE0 … FULU. uint64 values above 2^53 − 1 are refused (see {@link sszJsonSchema}): no duty
 * carries one, and @lodestar/types would hash a rounded number.
 *
 * Deterministic: the result depends only on `body`, so a peer that re-parses the forwarded body
 * ({@link encodeSignRequest}) computes the same signing root. SSZ limits (aggregation bits, sync
 * committee size, slots per epoch) are those of the @lodestar/params preset, mainnet by default.
 * @param body the JSON value of the request body
 * @throws InputError whose `field` is the JSON path of the first bad field, e.g.
 *   `attestation.source.epoch`, `beacon_block.version`, `type` (missing or unknown), `body` (not an
 *   object), `signingRoot` (`signingRoot` and `signing_root` both sent and different)
 */
export function parseSignRequest(body: unknown): SignRequest {
  if (!isObject(body)) throw new InputError("body", `"body" must be a JSON object`);
  const type = body.type;
  if (type === undefined) throw new InputError("type", `"type" is required`);
  if (!isSignRequestType(type)) {
    const got = typeof type === "string" ? `"${type.slice(0, 48)}"` : typeof type;
    throw new InputError("type", `"type" must be one of ${SIGN_REQUEST_TYPES.join(", ")}, got ${got}`);
  }
  const d = SIGN_REQUEST_DESCRIPTORS[type] as unknown as SignRequestDescriptor;
  const j = validate(d.schema(body), body);
  return d.parse(j, { json: j, signingRoot: parseSigningRoot(j), forkInfo: parseForkInfo(j) });
}

/**
 * The bytes a node forwards to its peers for them to re-run {@link decodeSignRequest} and
 * {@link requestSigningRoot}: the validated JSON body (unknown fields dropped) as UTF-8 JSON.
 */
export function encodeSignRequest(req: SignRequest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(req.json));
}

/**
 * Parses a sign request from the UTF-8 JSON bytes of a body: an HTTP body or a peer's forwarded
 * {@link encodeSignRequest} bytes.
 * @throws InputError "body" when the bytes are not UTF-8 JSON; otherwise as {@link parseSignRequest}
 */
export function decodeSignRequest(bytes: Uint8Array): SignRequest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new InputError("body", `"body" is not UTF-8 JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseSignRequest(json);
}

// ---------------------------------------------------------------------------------------------
// Signing roots

/** What {@link requestSigningRoot} needs to know about the node's network. A {@link Network} fits. */
export interface RequestSigningRootOpts {
  /** `GENESIS_FORK_VERSION`, 4 bytes: the `VALIDATOR_REGISTRATION` domain (no fork_info in that request). */
  readonly genesisForkVersion: Uint8Array;
  /**
   * `CAPELLA_FORK_VERSION`, 4 bytes, for `VOLUNTARY_EXIT` when `fork_info.genesis_validators_root` is
   * not a preset network's (for presets, networks.ts's value is used).
   */
  readonly capellaForkVersion?: Uint8Array | undefined;
  /**
   * The network's genesis validators root, 32 bytes. When given and not all zero, a request whose
   * `fork_info.genesis_validators_root` differs is refused: it belongs to another chain, and this
   * node's slashing protection is kept for one.
   */
  readonly genesisValidatorsRoot?: Uint8Array | undefined;
}

const ZERO_ROOT = new Uint8Array(32);
let presetNetworks: Network[] | undefined;

function presetByGenesisValidatorsRoot(root: Uint8Array): Network | undefined {
  presetNetworks ??= PRESET_NETWORK_NAMES.map((name) => resolveNetwork(name));
  return presetNetworks.find((n) => bytesEqual(n.genesisValidatorsRoot, root));
}

function epochAtSlot(slot: number): number {
  return Math.floor(slot / SLOTS_PER_EPOCH);
}

/** consensus-specs phase0 `get_domain` with `fork_info` in place of the state's fork. */
function domainAt(domainType: Uint8Array, forkInfo: ForkInfo, epoch: number): Uint8Array {
  const { fork, genesisValidatorsRoot } = forkInfo;
  return computeDomain(
    domainType,
    epoch < fork.epoch ? fork.previousVersion : fork.currentVersion,
    genesisValidatorsRoot,
  );
}

/** EIP-7044: the voluntary exit domain (see {@link requestSigningRoot}). */
function voluntaryExitDomain(req: VoluntaryExitRequest, opts: RequestSigningRootOpts): Uint8Array {
  const gvr = req.forkInfo.genesisValidatorsRoot;
  const capella = presetByGenesisValidatorsRoot(gvr)?.capellaForkVersion ?? opts.capellaForkVersion;
  if (capella !== undefined) return computeDomain(DOMAIN_VOLUNTARY_EXIT, capella, gvr);
  return domainAt(DOMAIN_VOLUNTARY_EXIT, req.forkInfo, req.voluntaryExit.epoch);
}

function checkGenesisValidatorsRoot(req: SignRequest, opts: RequestSigningRootOpts): void {
  const expectedRoot = opts.genesisValidatorsRoot;
  if (req.forkInfo === undefined || expectedRoot === undefined || bytesEqual(expectedRoot, ZERO_ROOT)) return;
  if (req.type === "DEPOSIT" || req.type === "VALIDATOR_REGISTRATION") return;
  const got = req.forkInfo.genesisValidatorsRoot;
  if (!bytesEqual(got, expectedRoot)) {
    const field = "fork_info.genesis_validators_root";
    throw new InputError(field, `"${field}" ${toHex(got)} is not this network's ${toHex(expectedRoot)}`);
  }
}

/**
 * The signing root of a request: `compute_signing_root(object, domain)` (consensus-specs phase0
 * beacon-chain.md § compute_signing_root), 32 bytes. The domain is `compute_domain(type, version,
 * genesis_validators_root)`; `version` comes from `fork_info` by the epoch below (previous version
 * when epoch < `fork.epoch`), as consensus-specs validator.md (phase0, altair) and Web3Signer do:
 *
 * | type | object | domain type | epoch |
 * |---|---|---|---|
 * | AGGREGATION_SLOT | `slot` (uint64) | SELECTION_PROOF | epoch of slot |
 * | AGGREGATE_AND_PROOF(_V2) | `AggregateAndProof` (phase0 or electra) | AGGREGATE_AND_PROOF | epoch of `aggregate.data.slot` |
 * | ATTESTATION | `AttestationData` | BEACON_ATTESTER | `target.epoch` |
 * | BLOCK, BLOCK_V2 | `BeaconBlock` or `BeaconBlockHeader` | BEACON_PROPOSER | epoch of slot |
 * | RANDAO_REVEAL | `epoch` (uint64) | RANDAO | `epoch` |
 * | SYNC_COMMITTEE_MESSAGE | `beacon_block_root` | SYNC_COMMITTEE | epoch of slot |
 * | SYNC_COMMITTEE_SELECTION_PROOF | `SyncAggregatorSelectionData` | SYNC_COMMITTEE_SELECTION_PROOF | epoch of slot |
 * | SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF | `ContributionAndProof` | CONTRIBUTION_AND_PROOF | epoch of `contribution.slot` |
 *
 * (epoch of slot = slot / SLOTS_PER_EPOCH, rounded down.) The others:
 * - `VOLUNTARY_EXIT`: `VoluntaryExit` under DOMAIN_VOLUNTARY_EXIT with `CAPELLA_FORK_VERSION` and
 *   `fork_info.genesis_validators_root`, whatever `fork_info` says (EIP-7044, deneb beacon-chain.md
 *   § process_voluntary_exit: since Deneb the chain verifies every exit that way). The Capella
 *   version is the preset network's whose genesis validators root matches, else
 *   `opts.capellaForkVersion`. Without either (a custom network nobody configured), the phase0 rule
 *   at `voluntary_exit.epoch` applies: right before Deneb, and for Lodestar, which sends the Capella
 *   fork as `fork_info` after it; a client whose `signingRoot` disagrees gets an InputError from
 *   {@link checkSigningRoot} rather than a signature the chain would reject.
 * - `DEPOSIT`: `DepositMessage` under `compute_domain(DOMAIN_DEPOSIT, deposit.genesis_fork_version,
 *   0x00…00)` (phase0 beacon-chain.md § Deposits).
 * - `VALIDATOR_REGISTRATION`: `ValidatorRegistrationV1` under `compute_domain(DOMAIN_APPLICATION_BUILDER,
 *   opts.genesisForkVersion, 0x00…00)` (builder-specs § Signing,
 *   https://github.com/ethereum/builder-specs/blob/main/specs/bellatrix/builder.md#signing).
 *
 * References: https://github.com/ethereum/consensus-specs/blob/dev/specs/phase0/validator.md,
 * .../altair/validator.md, .../electra/validator.md (Electra `AggregateAndProof`),
 * https://eips.ethereum.org/EIPS/eip-7044.
 * @throws InputError "fork_info.genesis_validators_root" when `opts.genesisValidatorsRoot` is set,
 *   not zero, and differs from the request's
 * @throws RangeError when `opts.genesisForkVersion` is not 4 bytes (a programming error)
 */
export function requestSigningRoot(req: SignRequest, opts: RequestSigningRootOpts): Root {
  checkGenesisValidatorsRoot(req, opts);
  return requestDescriptor(req).signingRoot(req, opts);
}

/**
 * Checks the client's `signingRoot` / `signing_root`, when it sent one, against the root computed
 * from the message ({@link requestSigningRoot}). Web3Signer answers a mismatch with 400.
 * @param computed 32 bytes
 * @throws InputError "signingRoot" when the request carried a different root
 */
export function checkSigningRoot(req: SignRequest, computed: Uint8Array): void {
  if (req.signingRoot !== undefined && !bytesEqual(req.signingRoot, computed)) {
    throw new InputError(
      "signingRoot",
      `"signingRoot" ${toHex(req.signingRoot)} does not match the signing root ${toHex(computed)} computed from the request`,
    );
  }
}

/** What slashing protection must check before a request is signed (EIP-3076 fields, uint64). */
export type SlashingCheck =
  | { readonly kind: "block"; readonly slot: bigint }
  | { readonly kind: "attestation"; readonly sourceEpoch: bigint; readonly targetEpoch: bigint };

/**
 * The slashable part of a request: the block slot for `BLOCK` and `BLOCK_V2`, the source and target
 * epochs for `ATTESTATION`; undefined for every other type, which cannot be slashed
 * (consensus-specs phase0 beacon-chain.md § is_slashable_attestation_data, § process_proposer_slashing).
 */
export function slashingCheckOf(req: SignRequest): SlashingCheck | undefined {
  return requestDescriptor(req).slashing?.(req);
}

// ---------------------------------------------------------------------------------------------
// One descriptor per request type

/** The request of type `K`. */
export type SignRequestOf<K extends SignRequestType> = Extract<SignRequest, { type: K }>;

/** What the parser hands every type's `parse`: the fields each request has. */
export interface ParsedRequestBase extends SignRequestBase {
  /** Present for every type but `DEPOSIT` and `VALIDATOR_REGISTRATION`, where it is optional. */
  readonly forkInfo: ForkInfo | undefined;
}

/**
 * Everything cohort knows about one Web3Signer request type, in one place: the body's schema, how
 * it decodes, its signing root, its slashable part, and its duty rules (class, duty key, time
 * window, which proposed values a node may accept; ./duties.ts). Parsing, signing roots, slashing
 * protection, consent and duty agreement all read {@link SIGN_REQUEST_DESCRIPTORS}: adding a type
 * is one entry there (and its request interface).
 */
export interface SignRequestDescriptor<R extends SignRequest = SignRequest> extends DutyDescriptor<R> {
  /** The zod schema of the body; a versioned body has its `version` validated first. */
  schema(body: Json): z.ZodType;
  /** The typed request from the validated body. */
  parse(j: Json, base: ParsedRequestBase): R;
  /** `compute_signing_root` of the request's object under its domain (see {@link requestSigningRoot}), 32 bytes. */
  signingRoot(req: R, opts: RequestSigningRootOpts): Root;
  /** The slashable part (blocks and attestations only): {@link slashingCheckOf}. */
  slashing?(req: R): SlashingCheck;
}

const epochOf = (slot: number) => Math.floor(slot / SLOTS_PER_EPOCH);

/** Duty rules shared by `BLOCK` and `BLOCK_V2`: one proposal per slot. */
const PROPOSER: DutyDescriptor<BlockRequest | BlockV2Request> = {
  class: "agreed",
  duty(req) {
    const { slot } = blockOf(req);
    return { key: `proposer/${slot}`, kind: "proposer", slot };
  },
  outsideWindow: (req, clock) => slotWindow(blockOf(req).slot, clock, SLOT_DUTY_PAST_SLOTS, "block"),
  refuseProposal(own, proposed) {
    if (own.type !== proposed.type) return `request type ${proposed.type} differs from ${own.type}`;
    const a = blockOf(own);
    const b = blockOf(proposed as BlockRequest | BlockV2Request);
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

function blockOf(req: BlockRequest | BlockV2Request): { slot: number; proposerIndex: number } {
  if (req.type === "BLOCK") return req.block;
  const b = req.beaconBlock;
  return "blockHeader" in b ? b.blockHeader : b.block;
}

function aggregateOf(req: AggregateAndProofRequest | AggregateAndProofV2Request) {
  const m = req.aggregateAndProof;
  const data = m.data.aggregate.data;
  // EIP-7549: from Electra the committee is the set bit of `committee_bits`, and data.index is 0
  const committee =
    m.container === "electra" ? m.data.aggregate.committeeBits.getTrueBitIndexes().join("+") : String(data.index);
  return { slot: data.slot, committee, aggregatorIndex: m.data.aggregatorIndex };
}

/** `AGGREGATE_AND_PROOF` and `AGGREGATE_AND_PROOF_V2` differ only in their `type`. */
type AggregateRequest = AggregateAndProofRequest | AggregateAndProofV2Request;

function aggregateDescriptor(type: AggregateRequest["type"]): SignRequestDescriptor<AggregateRequest> {
  return {
    schema(body) {
      const raw = body.aggregate_and_proof;
      // Web3Signer's rule (AggregateAndProofV2Deserializer): `version` and `data` make the V2 form.
      if (isObject(raw) && "version" in raw && "data" in raw) {
        const pre = validate(z.object({ aggregate_and_proof: z.object({ version: VERSION }) }), body);
        const fork = forkOf((pre.aggregate_and_proof as Json).version as string);
        const container = isPostElectra(fork) ? ssz.electra.AggregateAndProof : ssz.phase0.AggregateAndProof;
        return envelope(type, `v:${isPostElectra(fork) ? "electra" : "phase0"}`, () => ({
          aggregate_and_proof: z.object({ version: VERSION, data: sszJsonSchema(container) }, expected("an object")),
        }));
      }
      const electraShape = isObject(raw) && isObject(raw.aggregate) && raw.aggregate.committee_bits !== undefined;
      return envelope(type, electraShape ? "flat:electra" : "flat:phase0", () => ({
        aggregate_and_proof: sszJsonSchema(electraShape ? ssz.electra.AggregateAndProof : ssz.phase0.AggregateAndProof),
      }));
    },
    parse: (j, b) =>
      ({
        ...b,
        type,
        forkInfo: b.forkInfo as ForkInfo,
        aggregateAndProof: parseAggregateAndProof(j),
      }) as AggregateRequest,
    signingRoot(req) {
      const m = req.aggregateAndProof;
      const domain = domainAt(DOMAIN_AGGREGATE_AND_PROOF, req.forkInfo, epochAtSlot(m.data.aggregate.data.slot));
      return m.container === "electra"
        ? computeSigningRoot(ssz.electra.AggregateAndProof, m.data, domain)
        : computeSigningRoot(ssz.phase0.AggregateAndProof, m.data, domain);
    },
    class: "agreed",
    duty(req) {
      const a = aggregateOf(req);
      return { key: `aggregator/${a.slot}/${a.committee}`, kind: "aggregator", slot: a.slot };
    },
    outsideWindow: (req, clock) => slotWindow(aggregateOf(req).slot, clock, ATTESTATION_PAST_SLOTS, "aggregate"),
    refuseProposal(own, proposed) {
      if (proposed.type !== "AGGREGATE_AND_PROOF" && proposed.type !== "AGGREGATE_AND_PROOF_V2") {
        return `request type ${proposed.type} differs from ${own.type}`;
      }
      if (aggregateOf(own).aggregatorIndex !== aggregateOf(proposed).aggregatorIndex) return "aggregator_index differs";
      return sameForkInfo(own, proposed);
    },
  };
}

/** A fixed-value duty per slot (selection proofs): its key is the slot, plus `extra` when given. */
function fixedSlotDuty(kind: string, slot: number, extra?: string): Duty {
  return { key: `${kind}/${slot}${extra === undefined ? "" : `/${extra}`}`, kind, slot };
}

/**
 * The descriptor of each of the 13 request types. Sources: Web3Signer's OpenAPI schemas (bodies),
 * consensus-specs phase0/altair/electra validator.md (signing roots), EIP-3076 (slashing), EIP-7044
 * (exits), builder-specs (registrations), DESIGN.md § Security model (classes and windows).
 */
export const SIGN_REQUEST_DESCRIPTORS: { readonly [K in SignRequestType]: SignRequestDescriptor<SignRequestOf<K>> } = {
  AGGREGATION_SLOT: {
    schema: () =>
      envelope("AGGREGATION_SLOT", "", () => ({ aggregation_slot: z.object({ slot: SLOT }, expected("an object")) })),
    parse: (j, b) => ({
      ...b,
      type: "AGGREGATION_SLOT",
      forkInfo: b.forkInfo as ForkInfo,
      aggregationSlot: { slot: fromJson(ssz.Slot, obj(j, "aggregation_slot").slot, "aggregation_slot.slot") },
    }),
    signingRoot(req) {
      const { slot } = req.aggregationSlot;
      return computeSigningRoot(ssz.Slot, slot, domainAt(DOMAIN_SELECTION_PROOF, req.forkInfo, epochAtSlot(slot)));
    },
    class: "fixed",
    duty: (req) => fixedSlotDuty("selection_proof", req.aggregationSlot.slot),
    outsideWindow: (req, clock) =>
      epochWindow(
        epochOf(req.aggregationSlot.slot),
        clock,
        FIXED_PAST_EPOCHS,
        FIXED_LOOKAHEAD_EPOCHS,
        "aggregation slot",
      ),
  },
  AGGREGATE_AND_PROOF: aggregateDescriptor("AGGREGATE_AND_PROOF") as SignRequestDescriptor<AggregateAndProofRequest>,
  AGGREGATE_AND_PROOF_V2: aggregateDescriptor(
    "AGGREGATE_AND_PROOF_V2",
  ) as SignRequestDescriptor<AggregateAndProofV2Request>,
  ATTESTATION: {
    schema: () => envelope("ATTESTATION", "", () => ({ attestation: sszJsonSchema(ssz.phase0.AttestationData) })),
    parse: (j, b) => ({
      ...b,
      type: "ATTESTATION",
      forkInfo: b.forkInfo as ForkInfo,
      attestation: fromJson(ssz.phase0.AttestationData, j.attestation, "attestation"),
    }),
    signingRoot(req) {
      const domain = domainAt(DOMAIN_BEACON_ATTESTER, req.forkInfo, req.attestation.target.epoch);
      return computeSigningRoot(ssz.phase0.AttestationData, req.attestation, domain);
    },
    slashing: (req) => ({
      kind: "attestation",
      sourceEpoch: BigInt(req.attestation.source.epoch),
      targetEpoch: BigInt(req.attestation.target.epoch),
    }),
    class: "agreed",
    duty: (req) => ({ key: `attester/${req.attestation.slot}`, kind: "attester", slot: req.attestation.slot }),
    outsideWindow(req, clock) {
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
      if (proposed.type !== "ATTESTATION") return "not an attestation";
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
  BLOCK: {
    schema: () => envelope("BLOCK", "", () => ({ block: sszJsonSchema(ssz.phase0.BeaconBlock) })),
    parse: (j, b) => ({
      ...b,
      type: "BLOCK",
      forkInfo: b.forkInfo as ForkInfo,
      block: fromJson(ssz.phase0.BeaconBlock, j.block, "block"),
    }),
    signingRoot(req) {
      const domain = domainAt(DOMAIN_BEACON_PROPOSER, req.forkInfo, epochAtSlot(req.block.slot));
      return computeSigningRoot(ssz.phase0.BeaconBlock, req.block, domain);
    },
    slashing: (req) => ({ kind: "block", slot: BigInt(req.block.slot) }),
    ...(PROPOSER as DutyDescriptor<BlockRequest>),
  },
  BLOCK_V2: {
    schema(body) {
      const pre = validate(z.object({ beacon_block: z.object({ version: VERSION }, expected("an object")) }), body);
      const fork = forkOf((pre.beacon_block as Json).version as string);
      if (fork === "phase0" || fork === "altair") {
        const block = fork === "phase0" ? ssz.phase0.BeaconBlock : ssz.altair.BeaconBlock;
        return envelope("BLOCK_V2", fork, () => ({
          beacon_block: z.object({ version: VERSION, block: sszJsonSchema(block) }),
        }));
      }
      return envelope("BLOCK_V2", "header", () => ({
        beacon_block: z.object({ version: VERSION, block_header: sszJsonSchema(ssz.phase0.BeaconBlockHeader) }),
      }));
    },
    parse: (j, b) => ({ ...b, type: "BLOCK_V2", forkInfo: b.forkInfo as ForkInfo, beaconBlock: parseBeaconBlock(j) }),
    signingRoot(req) {
      const b = req.beaconBlock;
      const slot = "blockHeader" in b ? b.blockHeader.slot : b.block.slot;
      const domain = domainAt(DOMAIN_BEACON_PROPOSER, req.forkInfo, epochAtSlot(slot));
      if ("blockHeader" in b) return computeSigningRoot(ssz.phase0.BeaconBlockHeader, b.blockHeader, domain);
      return b.version === "phase0"
        ? computeSigningRoot(ssz.phase0.BeaconBlock, b.block, domain)
        : computeSigningRoot(ssz.altair.BeaconBlock, b.block, domain);
    },
    slashing: (req) => ({ kind: "block", slot: BigInt(blockOf(req).slot) }),
    ...(PROPOSER as DutyDescriptor<BlockV2Request>),
  },
  DEPOSIT: {
    schema: () =>
      envelope("DEPOSIT", "", () => ({
        deposit: z.object(
          { ...sszJsonShape(ssz.phase0.DepositMessage), genesis_fork_version: sszJsonSchema(ssz.Version) },
          expected("an object"),
        ),
      })),
    parse(j, b) {
      const d = obj(j, "deposit");
      return {
        ...b,
        type: "DEPOSIT",
        deposit: {
          ...fromJson(ssz.phase0.DepositMessage, d, "deposit"),
          genesisForkVersion: fromJson(ssz.Version, d.genesis_fork_version, "deposit.genesis_fork_version"),
        },
      };
    },
    signingRoot(req) {
      const { pubkey, withdrawalCredentials, amount, genesisForkVersion } = req.deposit;
      const message: phase0.DepositMessage = { pubkey, withdrawalCredentials, amount };
      return computeSigningRoot(ssz.phase0.DepositMessage, message, depositDomain(genesisForkVersion));
    },
    class: "consent",
    duty: () => ({ key: "deposit", kind: "deposit", slot: 0 }),
    outsideWindow: () => undefined,
  },
  RANDAO_REVEAL: {
    schema: () =>
      envelope("RANDAO_REVEAL", "", () => ({ randao_reveal: z.object({ epoch: EPOCH }, expected("an object")) })),
    parse: (j, b) => ({
      ...b,
      type: "RANDAO_REVEAL",
      forkInfo: b.forkInfo as ForkInfo,
      randaoReveal: { epoch: fromJson(ssz.Epoch, obj(j, "randao_reveal").epoch, "randao_reveal.epoch") },
    }),
    signingRoot(req) {
      const { epoch } = req.randaoReveal;
      return computeSigningRoot(ssz.Epoch, epoch, domainAt(DOMAIN_RANDAO, req.forkInfo, epoch));
    },
    class: "fixed",
    duty: (req) => ({
      key: `randao/${req.randaoReveal.epoch}`,
      kind: "randao",
      slot: req.randaoReveal.epoch * SLOTS_PER_EPOCH,
    }),
    outsideWindow: (req, clock) =>
      epochWindow(req.randaoReveal.epoch, clock, FIXED_PAST_EPOCHS, FIXED_LOOKAHEAD_EPOCHS, "randao reveal"),
  },
  VOLUNTARY_EXIT: {
    schema: () => envelope("VOLUNTARY_EXIT", "", () => ({ voluntary_exit: sszJsonSchema(ssz.phase0.VoluntaryExit) })),
    parse: (j, b) => ({
      ...b,
      type: "VOLUNTARY_EXIT",
      forkInfo: b.forkInfo as ForkInfo,
      voluntaryExit: fromJson(ssz.phase0.VoluntaryExit, j.voluntary_exit, "voluntary_exit"),
    }),
    signingRoot: (req, opts) =>
      computeSigningRoot(ssz.phase0.VoluntaryExit, req.voluntaryExit, voluntaryExitDomain(req, opts)),
    class: "consent",
    duty: (req) => ({
      key: `exit/${req.voluntaryExit.epoch}`,
      kind: "exit",
      slot: req.voluntaryExit.epoch * SLOTS_PER_EPOCH,
    }),
    outsideWindow(req, clock) {
      const now = clock.currentEpoch();
      const epoch = req.voluntaryExit.epoch;
      if (epoch > now + EXIT_FUTURE_EPOCHS) return `voluntary exit epoch ${epoch} is after the current epoch ${now}`;
      return undefined;
    },
  },
  SYNC_COMMITTEE_MESSAGE: {
    schema: () =>
      envelope("SYNC_COMMITTEE_MESSAGE", "", () => ({
        sync_committee_message: z.object({ beacon_block_root: ROOT, slot: SLOT }, expected("an object")),
      })),
    parse(j, b) {
      const m = obj(j, "sync_committee_message");
      return {
        ...b,
        type: "SYNC_COMMITTEE_MESSAGE",
        forkInfo: b.forkInfo as ForkInfo,
        syncCommitteeMessage: {
          beaconBlockRoot: fromJson(ssz.Root, m.beacon_block_root, "sync_committee_message.beacon_block_root") as Root,
          slot: fromJson(ssz.Slot, m.slot, "sync_committee_message.slot"),
        },
      };
    },
    signingRoot(req) {
      const { beaconBlockRoot, slot } = req.syncCommitteeMessage;
      return computeSigningRoot(
        ssz.Root,
        beaconBlockRoot,
        domainAt(DOMAIN_SYNC_COMMITTEE, req.forkInfo, epochAtSlot(slot)),
      );
    },
    class: "agreed",
    duty: (req) => ({
      key: `sync_message/${req.syncCommitteeMessage.slot}`,
      kind: "sync_message",
      slot: req.syncCommitteeMessage.slot,
    }),
    outsideWindow: (req, clock) =>
      slotWindow(req.syncCommitteeMessage.slot, clock, SLOT_DUTY_PAST_SLOTS, "sync committee message"),
    refuseProposal: (own, proposed) =>
      proposed.type !== own.type
        ? `request type ${proposed.type} differs from ${own.type}`
        : sameForkInfo(own, proposed),
  },
  SYNC_COMMITTEE_SELECTION_PROOF: {
    schema: () =>
      envelope("SYNC_COMMITTEE_SELECTION_PROOF", "", () => ({
        sync_aggregator_selection_data: sszJsonSchema(ssz.altair.SyncAggregatorSelectionData),
      })),
    parse: (j, b) => ({
      ...b,
      type: "SYNC_COMMITTEE_SELECTION_PROOF",
      forkInfo: b.forkInfo as ForkInfo,
      syncAggregatorSelectionData: fromJson(
        ssz.altair.SyncAggregatorSelectionData,
        j.sync_aggregator_selection_data,
        "sync_aggregator_selection_data",
      ),
    }),
    signingRoot(req) {
      const data = req.syncAggregatorSelectionData;
      const domain = domainAt(DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF, req.forkInfo, epochAtSlot(data.slot));
      return computeSigningRoot(ssz.altair.SyncAggregatorSelectionData, data, domain);
    },
    class: "fixed",
    duty: (req) =>
      fixedSlotDuty(
        "sync_selection_proof",
        req.syncAggregatorSelectionData.slot,
        String(req.syncAggregatorSelectionData.subcommitteeIndex),
      ),
    outsideWindow: (req, clock) =>
      epochWindow(
        epochOf(req.syncAggregatorSelectionData.slot),
        clock,
        FIXED_PAST_EPOCHS,
        SYNC_SELECTION_LOOKAHEAD_EPOCHS,
        "sync committee selection proof",
      ),
  },
  SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF: {
    schema: () =>
      envelope("SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF", "", () => ({
        contribution_and_proof: sszJsonSchema(ssz.altair.ContributionAndProof),
      })),
    parse: (j, b) => ({
      ...b,
      type: "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF",
      forkInfo: b.forkInfo as ForkInfo,
      contributionAndProof: fromJson(
        ssz.altair.ContributionAndProof,
        j.contribution_and_proof,
        "contribution_and_proof",
      ),
    }),
    signingRoot(req) {
      const cp = req.contributionAndProof;
      const domain = domainAt(DOMAIN_CONTRIBUTION_AND_PROOF, req.forkInfo, epochAtSlot(cp.contribution.slot));
      return computeSigningRoot(ssz.altair.ContributionAndProof, cp, domain);
    },
    class: "agreed",
    duty(req) {
      const c = req.contributionAndProof.contribution;
      return { key: `sync_contribution/${c.slot}/${c.subcommitteeIndex}`, kind: "sync_contribution", slot: c.slot };
    },
    outsideWindow: (req, clock) =>
      slotWindow(req.contributionAndProof.contribution.slot, clock, SLOT_DUTY_PAST_SLOTS, "contribution"),
    refuseProposal(own, proposed) {
      if (proposed.type !== own.type) return "not a contribution";
      if (own.contributionAndProof.aggregatorIndex !== proposed.contributionAndProof.aggregatorIndex) {
        return "aggregator_index differs";
      }
      return sameForkInfo(own, proposed);
    },
  },
  VALIDATOR_REGISTRATION: {
    schema: () =>
      envelope("VALIDATOR_REGISTRATION", "", () => ({
        validator_registration: sszJsonSchema(ssz.bellatrix.ValidatorRegistrationV1),
      })),
    parse: (j, b) => ({
      ...b,
      type: "VALIDATOR_REGISTRATION",
      validatorRegistration: fromJson(
        ssz.bellatrix.ValidatorRegistrationV1,
        j.validator_registration,
        "validator_registration",
      ),
    }),
    signingRoot(req, opts) {
      const domain = computeDomain(DOMAIN_APPLICATION_BUILDER, opts.genesisForkVersion, ZERO_ROOT);
      return computeSigningRoot(ssz.bellatrix.ValidatorRegistrationV1, req.validatorRegistration, domain);
    },
    class: "consent",
    duty: (req) => ({
      key: `registration/${req.validatorRegistration.timestamp}`,
      kind: "registration",
      slot: 0,
    }),
    outsideWindow(req, clock) {
      const ts = req.validatorRegistration.timestamp;
      const now = clock.nowSec();
      if (ts > now + REGISTRATION_FUTURE_SECONDS) {
        return `validator registration timestamp ${ts} is more than ${REGISTRATION_FUTURE_SECONDS} s after now (${now})`;
      }
      return undefined;
    },
  },
};

/** The descriptor of a request's type, typed for any request. */
export function requestDescriptor(req: SignRequest): SignRequestDescriptor {
  return SIGN_REQUEST_DESCRIPTORS[req.type] as unknown as SignRequestDescriptor;
}
