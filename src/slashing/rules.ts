/**
 * EIP-3076 slashing-protection rules, complete strategy with low watermarks, as pure functions over a
 * validator's signing history (https://eips.ethereum.org/EIPS/eip-3076). No I/O: the store supplies the history.
 */
import { bytesEqual, toHex } from "../lib/bytes.js";
import { CodedError } from "../lib/errors.js";
import type { BlsPublicKey, Epoch, Root, Slot } from "../lib/types.js";

/** Largest slot or epoch the store accepts: SQLite integers are signed 64-bit. */
export const MAX_SLOT_OR_EPOCH = (1n << 63n) - 1n;

/** A signed (or imported) block proposal of one validator. `signingRoot` is 32 bytes, or null when unknown. */
export interface SignedBlockRecord {
  slot: Slot;
  signingRoot: Root | null;
}

/** A signed (or imported) attestation of one validator. `signingRoot` is 32 bytes, or null when unknown. */
export interface SignedAttestationRecord {
  sourceEpoch: Epoch;
  targetEpoch: Epoch;
  signingRoot: Root | null;
}

/** Refusal codes of the slashing protection; see {@link SlashingErrorType} for each payload. */
export type SlashingErrorCode =
  | "DOUBLE_PROPOSAL"
  | "DOUBLE_VOTE"
  | "SURROUNDING_VOTE"
  | "SURROUNDED_VOTE"
  | "SOURCE_EXCEEDS_TARGET"
  | "BELOW_LOW_WATERMARK"
  | "WRONG_GENESIS_VALIDATORS_ROOT";

/**
 * Typed payload of a {@link SlashingError}, one shape per code. `pubkey` is the 48-byte compressed G1 validator
 * public key; `existing` is the stored record the candidate conflicts with.
 * - `DOUBLE_PROPOSAL`: a different block (or one of unknown signing root) is recorded at the same slot.
 * - `DOUBLE_VOTE`: a different attestation (or one of unknown signing root) is recorded with the same target.
 * - `SURROUNDING_VOTE`: the candidate surrounds `existing` (candidate.source < existing.source and
 *   existing.target < candidate.target).
 * - `SURROUNDED_VOTE`: `existing` surrounds the candidate (existing.source < candidate.source and
 *   candidate.target < existing.target).
 * - `SOURCE_EXCEEDS_TARGET`: the candidate's source epoch is after its target epoch.
 * - `BELOW_LOW_WATERMARK`: the candidate is at or below the validator's low watermark, the minima of its imported
 *   interchange records (DESIGN.md § Slashing protection): a block slot ≤ min slot, an attestation source < min
 *   source or target ≤ min target, and not an exact repeat. Records this node signed itself set no watermark.
 * - `WRONG_GENESIS_VALIDATORS_ROOT`: the database is pinned to `expected`, the caller used `actual` (32 bytes each).
 */
export type SlashingErrorType =
  | { code: "DOUBLE_PROPOSAL"; pubkey: BlsPublicKey; candidate: SignedBlockRecord; existing: SignedBlockRecord }
  | {
      code: "DOUBLE_VOTE" | "SURROUNDING_VOTE" | "SURROUNDED_VOTE";
      pubkey: BlsPublicKey;
      candidate: SignedAttestationRecord;
      existing: SignedAttestationRecord;
    }
  | { code: "SOURCE_EXCEEDS_TARGET"; pubkey: BlsPublicKey; candidate: SignedAttestationRecord }
  | {
      code: "BELOW_LOW_WATERMARK";
      pubkey: BlsPublicKey;
      candidate: SignedBlockRecord | SignedAttestationRecord;
      watermark: BlockWatermark | AttestationWatermark;
    }
  | { code: "WRONG_GENESIS_VALIDATORS_ROOT"; expected: Root; actual: Root };

/** Every {@link SlashingErrorType} code: what a peer's slashing protection can answer a partial-signature request with. */
export const SLASHING_CODES: ReadonlySet<string> = new Set<SlashingErrorType["code"]>([
  "DOUBLE_PROPOSAL",
  "DOUBLE_VOTE",
  "SURROUNDING_VOTE",
  "SURROUNDED_VOTE",
  "SOURCE_EXCEEDS_TARGET",
  "BELOW_LOW_WATERMARK",
  "WRONG_GENESIS_VALIDATORS_ROOT",
]);

/**
 * A refusal to sign (or import) because it could be slashable, per EIP-3076
 * (https://eips.ethereum.org/EIPS/eip-3076). Callers switch on `code`; `type` carries the conflicting record.
 */
export class SlashingError extends CodedError<SlashingErrorType> {
  constructor(type: SlashingErrorType) {
    super(type, describeRefusal(type));
  }
}

/** Low watermark of a validator's blocks: the minimum slot of its imported blocks. */
export interface BlockWatermark {
  minSlot: Slot;
}

/** Low watermark of a validator's attestations: the minimum source and target epochs (independently) imported. */
export interface AttestationWatermark {
  minSourceEpoch: Epoch;
  minTargetEpoch: Epoch;
}

/** The block history of one validator, as the rules query it. Implemented over SQLite by the store. */
export interface BlockHistory {
  /** Every record at exactly `slot`. */
  atSlot(slot: Slot): readonly SignedBlockRecord[];
  /** The low watermark set by imports, or null when no block was imported. */
  watermark(): BlockWatermark | null;
  /**
   * Optional fast path: the maximum slot of all records, or null when there are none. A slot above it is allowed
   * without the other queries.
   */
  maxSlot?(): Slot | null;
}

/** The attestation history of one validator, as the rules query it. Implemented over SQLite by the store. */
export interface AttestationHistory {
  /** Every record whose target epoch is exactly `targetEpoch`. */
  atTarget(targetEpoch: Epoch): readonly SignedAttestationRecord[];
  /** The low watermark set by imports, or null when no attestation was imported. */
  watermark(): AttestationWatermark | null;
  /** A record the candidate would surround: source > `sourceEpoch` and target < `targetEpoch`; null if none. */
  findSurroundedBy(sourceEpoch: Epoch, targetEpoch: Epoch): SignedAttestationRecord | null;
  /** A record that would surround the candidate: source < `sourceEpoch` and target > `targetEpoch`; null if none. */
  findSurrounding(sourceEpoch: Epoch, targetEpoch: Epoch): SignedAttestationRecord | null;
  /**
   * Optional fast path: maximum source and maximum target over all records (independently), or null when there are
   * none. A candidate with target above the maximum target and source at or above the maximum source is allowed
   * without the other queries: it can repeat, conflict with, surround or be surrounded by no record.
   */
  maxima?(): { maxSourceEpoch: Epoch; maxTargetEpoch: Epoch } | null;
}

/**
 * Verdict of a check. Allowed with `repeat: false`: sign it and record it. Allowed with `repeat: true`: an exact
 * repeat (same signing root) that is already recorded, so sign it without recording it again. Refused: the
 * `refusal` payload says why.
 */
export type Verdict = { allowed: true; repeat: boolean } | { allowed: false; refusal: SlashingErrorType };

/**
 * Checks a block proposal against the validator's history (EIP-3076 complete strategy with low watermarks):
 * allowed if no record exists at its slot and its slot is above the imported low watermark; an exact repeat
 * (every record at the slot has the same, known signing root) is allowed and not recorded again.
 * @returns a {@link Verdict}; refusal codes `DOUBLE_PROPOSAL`, `BELOW_LOW_WATERMARK`.
 */
export function checkBlock(pubkey: BlsPublicKey, candidate: SignedBlockRecord, history: BlockHistory): Verdict {
  const maxSlot = history.maxSlot?.();
  if (maxSlot != null && candidate.slot > maxSlot) return { allowed: true, repeat: false };
  const same = history.atSlot(candidate.slot);
  if (same.length > 0) {
    const conflict = same.find((r) => !sameRoot(r.signingRoot, candidate.signingRoot));
    if (conflict === undefined) return { allowed: true, repeat: true };
    return { allowed: false, refusal: { code: "DOUBLE_PROPOSAL", pubkey, candidate, existing: conflict } };
  }
  const watermark = history.watermark();
  if (watermark !== null && candidate.slot <= watermark.minSlot) {
    return { allowed: false, refusal: { code: "BELOW_LOW_WATERMARK", pubkey, candidate, watermark } };
  }
  return { allowed: true, repeat: false };
}

/**
 * Checks an attestation against the validator's history (EIP-3076 complete strategy with low watermarks), in this
 * order: source ≤ target; no other attestation with the same target (an exact repeat, same source and same known
 * signing root, is allowed and not recorded again); source ≥ the imported min source and target > the imported min
 * target; it surrounds no
 * record; no record surrounds it. When the history offers `maxima`, a candidate beyond every record (the usual case
 * at the head of the chain) is allowed after that one query.
 * @returns a {@link Verdict}; refusal codes `SOURCE_EXCEEDS_TARGET`, `DOUBLE_VOTE`, `BELOW_LOW_WATERMARK`,
 * `SURROUNDING_VOTE`, `SURROUNDED_VOTE`.
 */
export function checkAttestation(
  pubkey: BlsPublicKey,
  candidate: SignedAttestationRecord,
  history: AttestationHistory,
): Verdict {
  const { sourceEpoch, targetEpoch } = candidate;
  if (sourceEpoch > targetEpoch) {
    return { allowed: false, refusal: { code: "SOURCE_EXCEEDS_TARGET", pubkey, candidate } };
  }
  const maxima = history.maxima?.();
  if (maxima != null && targetEpoch > maxima.maxTargetEpoch && sourceEpoch >= maxima.maxSourceEpoch) {
    return { allowed: true, repeat: false };
  }
  const same = history.atTarget(targetEpoch);
  if (same.length > 0) {
    const conflict = same.find((r) => r.sourceEpoch !== sourceEpoch || !sameRoot(r.signingRoot, candidate.signingRoot));
    if (conflict === undefined) return { allowed: true, repeat: true };
    return { allowed: false, refusal: { code: "DOUBLE_VOTE", pubkey, candidate, existing: conflict } };
  }
  const watermark = history.watermark();
  if (watermark !== null && (sourceEpoch < watermark.minSourceEpoch || targetEpoch <= watermark.minTargetEpoch)) {
    return { allowed: false, refusal: { code: "BELOW_LOW_WATERMARK", pubkey, candidate, watermark } };
  }
  const surrounded = history.findSurroundedBy(sourceEpoch, targetEpoch);
  if (surrounded !== null) {
    return { allowed: false, refusal: { code: "SURROUNDING_VOTE", pubkey, candidate, existing: surrounded } };
  }
  const surrounding = history.findSurrounding(sourceEpoch, targetEpoch);
  if (surrounding !== null) {
    return { allowed: false, refusal: { code: "SURROUNDED_VOTE", pubkey, candidate, existing: surrounding } };
  }
  return { allowed: true, repeat: false };
}

/** True when `stored` is a known signing root equal to `candidate`: the only case that makes an exact repeat. */
function sameRoot(stored: Root | null, candidate: Root | null): boolean {
  return stored !== null && candidate !== null && bytesEqual(stored, candidate);
}

/**
 * In-memory {@link BlockHistory} over an array of records and the watermark imports set (reference
 * implementation for tests and tools). It has no fast path, so it exercises the full rules.
 */
export function blockHistoryOf(
  records: readonly SignedBlockRecord[],
  watermark: BlockWatermark | null = null,
): BlockHistory {
  return {
    atSlot: (slot) => records.filter((r) => r.slot === slot),
    watermark: () => watermark,
  };
}

/** The low watermark an interchange's blocks set (EIP-3076): their minimum slot; null without blocks. */
export function blockWatermarkOf(records: readonly SignedBlockRecord[]): BlockWatermark | null {
  return records.length === 0 ? null : { minSlot: minOf(records.map((r) => r.slot)) };
}

/**
 * The low watermark an interchange's attestations set (EIP-3076): their minimum source and minimum target
 * epochs, taken independently; null without attestations.
 */
export function attestationWatermarkOf(records: readonly SignedAttestationRecord[]): AttestationWatermark | null {
  return records.length === 0
    ? null
    : {
        minSourceEpoch: minOf(records.map((r) => r.sourceEpoch)),
        minTargetEpoch: minOf(records.map((r) => r.targetEpoch)),
      };
}

/**
 * In-memory {@link AttestationHistory} over an array of records and the watermark imports set (reference
 * implementation for tests and tools). It has no fast path, so it exercises the full rules.
 */
export function attestationHistoryOf(
  records: readonly SignedAttestationRecord[],
  watermark: AttestationWatermark | null = null,
): AttestationHistory {
  return {
    atTarget: (t) => records.filter((r) => r.targetEpoch === t),
    watermark: () => watermark,
    findSurroundedBy: (s, t) => records.find((r) => r.sourceEpoch > s && r.targetEpoch < t) ?? null,
    findSurrounding: (s, t) => records.find((r) => r.sourceEpoch < s && r.targetEpoch > t) ?? null,
  };
}

function minOf(xs: readonly bigint[]): bigint {
  let m = xs[0] as bigint;
  for (const x of xs) if (x < m) m = x;
  return m;
}

function rootText(root: Root | null): string {
  return root === null ? "unknown root" : toHex(root);
}

function describeRefusal(t: SlashingErrorType): string {
  switch (t.code) {
    case "DOUBLE_PROPOSAL":
      return `refused block at slot ${t.candidate.slot} for ${toHex(t.pubkey)}: double proposal, already signed ${rootText(t.existing.signingRoot)} at that slot`;
    case "DOUBLE_VOTE":
    case "SURROUNDING_VOTE":
    case "SURROUNDED_VOTE": {
      const what = { DOUBLE_VOTE: "double vote with", SURROUNDING_VOTE: "surrounds", SURROUNDED_VOTE: "surrounded by" }[
        t.code
      ];
      return `refused attestation ${t.candidate.sourceEpoch}→${t.candidate.targetEpoch} for ${toHex(t.pubkey)}: ${what} signed attestation ${t.existing.sourceEpoch}→${t.existing.targetEpoch} (${rootText(t.existing.signingRoot)})`;
    }
    case "SOURCE_EXCEEDS_TARGET":
      return `refused attestation ${t.candidate.sourceEpoch}→${t.candidate.targetEpoch} for ${toHex(t.pubkey)}: source epoch exceeds target epoch`;
    case "BELOW_LOW_WATERMARK":
      if ("slot" in t.candidate) {
        return `refused block at slot ${t.candidate.slot} for ${toHex(t.pubkey)}: at or below the low watermark slot ${(t.watermark as BlockWatermark).minSlot}`;
      } else {
        const w = t.watermark as AttestationWatermark;
        return `refused attestation ${t.candidate.sourceEpoch}→${t.candidate.targetEpoch} for ${toHex(t.pubkey)}: below the low watermark (min source ${w.minSourceEpoch}, min target ${w.minTargetEpoch})`;
      }
    case "WRONG_GENESIS_VALIDATORS_ROOT":
      return `genesis_validators_root ${toHex(t.actual)} differs from the database's ${toHex(t.expected)}`;
  }
}
