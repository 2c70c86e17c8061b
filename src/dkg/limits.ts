/**
 * The largest envelope an honest operator sends in each ceremony step, from n, t, V and the deposit
 * amounts (DESIGN.md § Wire protocols, "bounded before decoded"). The transport refuses a chunked
 * envelope whose announced total exceeds its step's bound before it allocates anything, and keeps at
 * most one envelope per peer, step and kind in reassembly (and only one step ahead of its own), so a
 * peer can make this node hold at most the sum of these bounds.
 */
import { STEP } from "./steps.js";

/** What the bounds depend on. */
export interface EnvelopeLimitParams {
  /** Operators, n ≥ 1. */
  n: number;
  /** Threshold, t ≥ 1: commitments per validator. */
  t: number;
  /** Validators, V ≥ 1. */
  numValidators: number;
  /** Messages each validator's share signs at the deposit step: one per deposit amount. */
  rootsPerValidator: number;
}

/**
 * Which envelope of a step: the broadcast, the point-to-point one, or a node's abort (which carries
 * step 0 in its chunks and envelope: the failed step is in its payload).
 */
export type EnvelopeKind = "broadcast" | "direct" | "abort";

/** The most bytes an envelope of `step` and `kind` may have, or undefined when none is expected. */
export type EnvelopeLimits = (step: number, kind: EnvelopeKind) => number | undefined;

/** Envelope fields around the payload: session, sender, step, kind, receiver, secp256k1 signature, tags. */
const ENVELOPE_OVERHEAD_BYTES = 192;
/** A protobuf field's tag and length prefix, at most. */
const FIELD = 6;
/** A uint32 field with its tag, at most. */
const UINT = 6;
/** Longest `reason` of an accusation an honest node writes, bytes (they are short sentences). */
const REASON_MAX_BYTES = 1024;

/** Bytes of an envelope whose payload is at most `payload` bytes. */
const envelope = (payload: number): number => ENVELOPE_OVERHEAD_BYTES + FIELD + payload;

/**
 * The per-step bounds for a ceremony of these parameters:
 * - deal: V·t commitments of 48 bytes, V proofs of possession of 96 and (in a reshare) V slashing floors of 24;
 * - shares (direct): V scalars of 32 bytes;
 * - echo: n digests of 32 bytes;
 * - complaints: up to n accusations, each with V validator indices, its evidence envelope (a deal or
 *   shares envelope) and up to n echo envelopes;
 * - justifications: up to (n − 1)·V revealed shares;
 * - deposit partials: V·rootsPerValidator partial signatures (index, 32-byte root, 96-byte signature);
 * - lock signature and confirmation: a few hundred bytes;
 * - abort (step 0): a code, a detail line and its evidence, at most two envelopes of any step (an
 *   equivocation's pair) plus n echoes, or one complaint envelope.
 * @throws RangeError when a parameter is not a positive integer (rootsPerValidator may be 0)
 */
export function envelopeLimits(p: EnvelopeLimitParams): EnvelopeLimits {
  for (const [name, v, min] of [
    ["n", p.n, 1],
    ["t", p.t, 1],
    ["numValidators", p.numValidators, 1],
    ["rootsPerValidator", p.rootsPerValidator, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`"${name}" must be an integer ≥ ${min}, got ${v}`);
  }
  const { n, t } = p;
  const V = p.numValidators;
  const deal = envelope(2 * UINT + FIELD + 48 * t * V + FIELD + 96 * V + FIELD + 24 * V);
  const shares = envelope(UINT + FIELD + 32 * V);
  const echo = envelope(n * (FIELD + 32));
  const accusation = UINT + FIELD + UINT * V + FIELD + REASON_MAX_BYTES + FIELD + Math.max(deal, shares) + UINT;
  const complaints = envelope(n * (FIELD + accusation + n * (FIELD + echo)));
  const justifications = envelope((n - 1) * V * (FIELD + 2 * UINT + FIELD + 32));
  const partials = envelope(V * p.rootsPerValidator * (FIELD + UINT + FIELD + 32 + FIELD + 96));
  const small = envelope(1024);
  const broadcast: Record<number, number> = {
    [STEP.DEAL]: deal,
    [STEP.ECHO]: echo,
    [STEP.COMPLAIN]: complaints,
    [STEP.JUSTIFY]: justifications,
    [STEP.DEPOSIT_PARTIALS]: partials,
    [STEP.LOCK_SIGNATURES]: small,
    [STEP.CONFIRM]: small,
  };
  const largest = Math.max(shares, ...Object.values(broadcast));
  const abort = envelope(2 * FIELD + REASON_MAX_BYTES + UINT + n * UINT + 2 * (FIELD + largest) + n * (FIELD + echo));
  return (step, kind) => {
    if (kind === "abort") return step === STEP.SYNC ? abort : undefined;
    return kind === "direct" ? (step === STEP.DEAL ? shares : undefined) : broadcast[step];
  };
}
