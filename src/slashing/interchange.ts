/**
 * EIP-3076 slashing-protection interchange format v5: zod-validated parsing, import into and export from the store
 * (https://eips.ethereum.org/EIPS/eip-3076).
 */
import { z } from "zod";
import { fromHex, toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import type { BlsPublicKey, Root } from "../lib/types.js";
import { MAX_SLOT_OR_EPOCH, type SignedAttestationRecord, type SignedBlockRecord } from "./rules.js";
import type { ImportSummary, SlashingProtectionDb, ValidatorHistory } from "./store.js";

/** The only interchange format version cohort reads and writes. */
export const INTERCHANGE_FORMAT_VERSION = "5";

const uint = z
  .string()
  .regex(/^[0-9]{1,20}$/, "must be a decimal string")
  .transform((s) => BigInt(s))
  .refine((n) => n <= MAX_SLOT_OR_EPOCH, "must be at most 2^63 - 1");
const hexBytes = (length: number) =>
  z
    .string()
    .regex(new RegExp(`^0x[0-9a-fA-F]{${length * 2}}$`), `must be a 0x-prefixed hex string of ${length} bytes`)
    .transform((s) => fromHex(s, "hex", length));

/** zod schema of an interchange v5 document; unknown fields are ignored. */
export const interchangeSchema = z.object({
  metadata: z.object({
    interchange_format_version: z.literal(INTERCHANGE_FORMAT_VERSION, {
      error: `must be "${INTERCHANGE_FORMAT_VERSION}"`,
    }),
    genesis_validators_root: hexBytes(32),
  }),
  data: z.array(
    z.object({
      pubkey: hexBytes(48),
      signed_blocks: z.array(z.object({ slot: uint, signing_root: hexBytes(32).optional() })),
      signed_attestations: z.array(
        z.object({ source_epoch: uint, target_epoch: uint, signing_root: hexBytes(32).optional() }),
      ),
    }),
  ),
});

/** An interchange document as JSON (snake_case, numbers as decimal strings, bytes as 0x-hex). */
export interface InterchangeJson {
  metadata: { interchange_format_version: string; genesis_validators_root: string };
  data: {
    pubkey: string;
    signed_blocks: { slot: string; signing_root?: string }[];
    signed_attestations: { source_epoch: string; target_epoch: string; signing_root?: string }[];
  }[];
}

/** A decoded interchange: the 32-byte genesis validators root and each entry's history, in document order. */
export interface Interchange {
  genesisValidatorsRoot: Root;
  data: ValidatorHistory[];
}

/** Export flavour: `complete` writes every record; `minimal` only the highest slot and epochs per validator. */
export type InterchangeFormat = "minimal" | "complete";

/**
 * Validates and decodes an interchange v5 document (already JSON-parsed). Nothing is written.
 * @throws InputError naming the first offending field, e.g. `"data[0].signed_blocks[1].slot"`
 */
export function parseInterchange(json: unknown): Interchange {
  const res = interchangeSchema.safeParse(json);
  if (!res.success) {
    const issue = res.error.issues[0];
    const field = issue === undefined ? "interchange" : fieldPath(issue.path);
    throw new InputError(field, `interchange "${field}": ${issue?.message ?? "invalid"}`);
  }
  const doc = res.data;
  return {
    genesisValidatorsRoot: doc.metadata.genesis_validators_root as Root,
    data: doc.data.map((d) => ({
      pubkey: d.pubkey as BlsPublicKey,
      signedBlocks: d.signed_blocks.map((b) => ({
        slot: b.slot,
        signingRoot: (b.signing_root ?? null) as Root | null,
      })),
      signedAttestations: d.signed_attestations.map((a) => ({
        sourceEpoch: a.source_epoch,
        targetEpoch: a.target_epoch,
        signingRoot: (a.signing_root ?? null) as Root | null,
      })),
    })),
  };
}

/**
 * Parses interchange JSON text and validates it.
 * @throws InputError `"interchange"` when the text is not JSON, or naming the first offending field
 */
export function parseInterchangeText(text: string): Interchange {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError("interchange", `interchange is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseInterchange(json);
}

/**
 * Imports a decoded interchange into the store in one transaction, merging it with what is there: all or nothing.
 * Slashable data inside the interchange is imported as is; the complete-strategy checks then refuse everything that
 * conflicts with any of it.
 * @throws SlashingError `WRONG_GENESIS_VALIDATORS_ROOT` when the store is pinned to another root
 */
export function importInterchange(store: SlashingProtectionDb, interchange: Interchange): ImportSummary {
  return store.importRecords(interchange.genesisValidatorsRoot, interchange.data);
}

/** Options of {@link exportInterchange}. */
export interface ExportOpts {
  /** Only these validators (48-byte public keys); every validator with a record when omitted. */
  pubkeys?: readonly Uint8Array[];
  /** Default `complete`. */
  format?: InterchangeFormat;
}

/**
 * Exports the store as an interchange v5 document, validators sorted by public key, blocks by slot, attestations by
 * target then source. `minimal` keeps, per validator, one block at the highest slot and one attestation with the
 * highest source and target epochs, which is enough for another signer's low watermarks.
 * @throws InputError `"data-dir"` when the database has no genesis validators root (never used);
 * `"pubkeys"` when a requested validator has no record
 */
export function exportInterchange(store: SlashingProtectionDb, opts: ExportOpts = {}): InterchangeJson {
  const gvr = store.genesisValidatorsRoot;
  if (gvr === null) {
    throw new InputError("data-dir", `${store.file} has no genesis_validators_root yet: nothing to export`);
  }
  const format = opts.format ?? "complete";
  const pubkeys = opts.pubkeys ?? store.listPubkeys();
  const data: InterchangeJson["data"] = [];
  const seen = new Set<string>();
  for (const pk of [...pubkeys].sort((a, b) => toHex(a).localeCompare(toHex(b)))) {
    if (seen.has(toHex(pk))) continue;
    seen.add(toHex(pk));
    if (format === "complete") {
      const h = store.readHistory(pk);
      if (h === null) throw new InputError("pubkeys", `no slashing protection records for ${toHex(pk)}`);
      data.push(entryJson(pk, h.signedBlocks, h.signedAttestations));
    } else {
      const m = store.readMaxima(pk);
      if (m === null) throw new InputError("pubkeys", `no slashing protection records for ${toHex(pk)}`);
      data.push(entryJson(pk, m.maxBlock ? [m.maxBlock] : [], m.maxAttestation ? [m.maxAttestation] : []));
    }
  }
  return {
    metadata: { interchange_format_version: INTERCHANGE_FORMAT_VERSION, genesis_validators_root: toHex(gvr) },
    data,
  };
}

/** Serializes an interchange document as pretty JSON with a trailing newline. */
export function serializeInterchange(doc: InterchangeJson): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function entryJson(
  pubkey: Uint8Array,
  blocks: readonly SignedBlockRecord[],
  attestations: readonly SignedAttestationRecord[],
): InterchangeJson["data"][number] {
  return {
    pubkey: toHex(pubkey),
    signed_blocks: blocks.map((b) => ({
      slot: b.slot.toString(),
      ...(b.signingRoot === null ? {} : { signing_root: toHex(b.signingRoot) }),
    })),
    signed_attestations: attestations.map((a) => ({
      source_epoch: a.sourceEpoch.toString(),
      target_epoch: a.targetEpoch.toString(),
      ...(a.signingRoot === null ? {} : { signing_root: toHex(a.signingRoot) }),
    })),
  };
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "interchange" : out;
}
