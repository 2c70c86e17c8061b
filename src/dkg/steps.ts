/** Ceremony step numbers and message kinds, carried in every envelope and hello. See DESIGN.md § DKG protocol. */
import { MessageKind } from "../pb/bcast.js";

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

/** Every envelope kind and the one step it belongs to; `private` kinds name their receiver. */
export const KIND_STEP: Readonly<Record<Exclude<MessageKind, MessageKind.MESSAGE_KIND_UNSPECIFIED>, Step>> = {
  [MessageKind.DEAL]: STEP.DEAL,
  [MessageKind.SHARES]: STEP.DEAL,
  [MessageKind.ECHO]: STEP.ECHO,
  [MessageKind.COMPLAINTS]: STEP.COMPLAIN,
  [MessageKind.JUSTIFICATIONS]: STEP.JUSTIFY,
  [MessageKind.DEPOSIT_PARTIALS]: STEP.DEPOSIT_PARTIALS,
  [MessageKind.LOCK_SIGNATURE]: STEP.LOCK_SIGNATURES,
  [MessageKind.CONFIRM]: STEP.CONFIRM,
  [MessageKind.ABORT]: STEP.SYNC,
};

/** Kinds sent point to point: their envelope carries the receiver's 1-based share index. */
export const PRIVATE_KINDS: ReadonlySet<MessageKind> = new Set([MessageKind.SHARES]);
