/**
 * The agreement wire format (proto/consensus.proto): one signed `Batch` per sender per event-loop
 * turn. The signature, by the sender's agreement key (src/consensus/keys.ts), covers a Merkle root
 * over sha256 of every message in the batch, so a single message can be relayed later as evidence
 * (in a round change or a decision certificate) with its Merkle path and that key, without the rest
 * of the batch. DESIGN.md § Signing protocol step 2.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes } from "../lib/bytes.js";
import { CONSENSUS_MAX_ENTRIES } from "../p2p/protocols.js";
import { Batch, type Entry, QbftMsg, type SignedQbftMsg } from "../pb/consensus.js";
import type { BatchKey, BatchVerifier } from "./keys.js";
import type { QbftType } from "./qbft.js";

const DOMAIN = new TextEncoder().encode("cohort/consensus/v2");
const ZERO = new Uint8Array(32);
/** Most leaves a batch tree has: a batch's entry cap. */
const MAX_LEAVES = CONSENSUS_MAX_ENTRIES;

/** Wire codes of the QBFT message types. */
export const QBFT_TYPE_CODES: Readonly<Record<QbftType, number>> = {
  PRE_PREPARE: 1,
  PREPARE: 2,
  COMMIT: 3,
  ROUND_CHANGE: 4,
  DECIDED: 5,
};
/**
 * Wire code of a PARTIAL entry: not a QBFT message, but a node's partial signature over the value
 * it decided, sent to its peers in an agreement batch (proto/consensus.proto).
 */
export const PARTIAL_CODE = 6;
const TYPE_BY_CODE = new Map(Object.entries(QBFT_TYPE_CODES).map(([k, v]) => [v, k as QbftType]));

/** The QBFT type of a wire code, or undefined for an unknown one. */
export function qbftTypeOf(code: number): QbftType | undefined {
  return TYPE_BY_CODE.get(code);
}

/** sha256 of a message's protobuf encoding: its leaf in the batch's Merkle tree. */
export function leafOf(msg: QbftMsg): Uint8Array {
  return sha256(QbftMsg.encode(msg));
}

function levels(leaves: readonly Uint8Array[]): Uint8Array[][] {
  let width = 1;
  while (width < leaves.length) width *= 2;
  const out: Uint8Array[][] = [[...leaves, ...Array.from({ length: width - leaves.length }, () => ZERO)]];
  while (out[out.length - 1]!.length > 1) {
    const prev = out[out.length - 1]!;
    const next: Uint8Array[] = [];
    for (let i = 0; i < prev.length; i += 2) next.push(sha256(concatBytes(prev[i]!, prev[i + 1]!)));
    out.push(next);
  }
  return out;
}

/** A batch's Merkle tree: its root and each leaf's path. */
export interface BatchTree {
  readonly root: Uint8Array;
  path(index: number): Uint8Array[];
}

/** The Merkle tree over `leaves` (32 bytes each), padded with zero hashes to a power of two. */
export function batchTree(leaves: readonly Uint8Array[]): BatchTree {
  const lv = levels(leaves);
  return {
    root: lv[lv.length - 1]![0]!,
    path(index) {
      const path: Uint8Array[] = [];
      let i = index;
      for (let l = 0; l < lv.length - 1; l++) {
        path.push(lv[l]![i ^ 1]!);
        i >>= 1;
      }
      return path;
    },
  };
}

/**
 * The root a leaf and its path lead to, or undefined when the path's shape does not fit
 * `leafCount` (wrong length, index out of range, a sibling not 32 bytes).
 */
export function rootFromPath(
  leaf: Uint8Array,
  index: number,
  leafCount: number,
  path: readonly Uint8Array[],
): Uint8Array | undefined {
  if (!Number.isSafeInteger(leafCount) || leafCount < 1 || leafCount > MAX_LEAVES) return undefined;
  if (!Number.isSafeInteger(index) || index < 0 || index >= leafCount) return undefined;
  let depth = 0;
  while (2 ** depth < leafCount) depth++;
  if (path.length !== depth) return undefined;
  let h = leaf;
  let i = index;
  for (const sibling of path) {
    if (sibling.length !== 32) return undefined;
    h = sha256(i & 1 ? concatBytes(sibling, h) : concatBytes(h, sibling));
    i >>= 1;
  }
  return h;
}

/** The bytes a batch signature covers. */
export function batchSigningBytes(
  session: Uint8Array,
  sender: number,
  leafCount: number,
  root: Uint8Array,
): Uint8Array {
  const head = new Uint8Array(8);
  const view = new DataView(head.buffer);
  view.setUint32(0, sender, false);
  view.setUint32(4, leafCount, false);
  return concatBytes(DOMAIN, session, head, root);
}

/**
 * Builds and signs a batch with this node's agreement key. `entries[i].justification` may be
 * filled in by `justify` once the batch's own evidence is known (a message may justify itself with
 * others in the same batch).
 * @returns the encoded batch; `justify` gets the evidence for each of its messages
 */
export function sealBatch(
  session: Uint8Array,
  sender: number,
  entries: Entry[],
  signer: BatchKey,
  justify: (evidence: SignedQbftMsg[]) => void,
): Uint8Array {
  const leaves = entries.map((e) => leafOf(e.msg!));
  const tree = batchTree(leaves);
  const signature = signer.sign(
    batchSigningBytes(session, sender, leaves.length, tree.root),
  ) as Uint8Array<ArrayBuffer>;
  const key = signer.key;
  justify(
    entries.map((e, i) => ({
      msg: e.msg,
      leafIndex: i,
      leafCount: leaves.length,
      path: tree.path(i) as Uint8Array<ArrayBuffer>[],
      signature,
      key,
    })),
  );
  return Batch.encode({ session: session as Uint8Array<ArrayBuffer>, sender, entries, signature, key });
}

/**
 * Checks that relayed evidence was signed by its message's sender, under an agreement key that
 * sender certified (`verify`, from keys.ts agreementKeyVerifier). `cache` remembers the (sender,
 * root, signature, key) tuples already verified.
 */
export function evidenceValid(
  session: Uint8Array,
  ev: SignedQbftMsg,
  verify: BatchVerifier,
  cache: Set<string>,
): boolean {
  if (ev.msg === undefined) return false;
  const root = rootFromPath(leafOf(ev.msg), ev.leafIndex, ev.leafCount, ev.path);
  if (root === undefined) return false;
  // the signature and key are part of what was checked: a copy of a verified batch's message with
  // another signature or key is checked afresh (and fails), never relayed on the strength of the first
  const hex = (b: Uint8Array | undefined) => (b === undefined ? "" : Buffer.from(b).toString("hex"));
  const key = `${ev.msg.sender}:${ev.leafCount}:${hex(root)}:${hex(ev.signature)}:${hex(ev.key?.publicKey)}:${hex(ev.key?.signature)}`;
  if (cache.has(key)) return true;
  if (!verify(ev.msg.sender, ev.key, batchSigningBytes(session, ev.msg.sender, ev.leafCount, root), ev.signature)) {
    return false;
  }
  if (cache.size >= 16_384) cache.clear();
  cache.add(key);
  return true;
}
