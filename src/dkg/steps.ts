/** Ceremony step numbers, carried in every envelope and hello. See DESIGN.md § DKG protocol. */

export const STEP = {
  SYNC: 0,
  DEAL: 1,
  ECHO: 2,
  COMPLAIN: 3,
  JUSTIFY: 4,
  DEPOSIT_PARTIALS: 5,
  LOCK_SIGNATURES: 6,
  CONFIRM: 7,
} as const;

export type Step = (typeof STEP)[keyof typeof STEP];

/** Human-readable step names for progress and logs. */
export const STEP_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(STEP).map(([k, v]) => [v, k.toLowerCase()]),
);

/**
 * Wire protocol version; peers with another value are refused at sync. Version 2: typed envelopes
 * (kind and receiver signed) and per-attempt nonces in the hello. Version 3: envelopes travel as
 * bounded chunks (src/dkg/chunks.ts) on the 2.0.0 DKG protocol IDs.
 */
export const DKG_PROTOCOL_VERSION = "cohort/dkg/3";
