/**
 * Signed ceremony envelopes: every message is bound to the attempt session, the sender's 1-based
 * share index, the step, its message kind and (for private kinds) its receiver, all inside what the
 * sender's identity key signs. DESIGN.md § Security model "Session binding", § DKG protocol.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesEqual, concatBytes, toHex } from "../lib/bytes.js";
import type { ShareIndex } from "../lib/types.js";
import { Envelope, MessageKind } from "../pb/bcast.js";
import { fault } from "./errors.js";
import { STEP, type Step } from "./steps.js";
import type { IdentitySigner, IdentityVerifier } from "./transport.js";

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

const DOMAIN = new TextEncoder().encode("cohort/dkg/v2");
const ATTEMPT_DOMAIN = new TextEncoder().encode("cohort/dkg/attempt/v1");

/** Length of a hello nonce, bytes. */
export const NONCE_BYTES = 32;

/**
 * The attempt session: sha256("cohort/dkg/attempt/v1" ‖ definition_hash ‖ nonce_1 ‖ … ‖ nonce_n), with
 * the 32-byte nonces of every operator's Hello in share-index order (DESIGN.md § DKG protocol step 1).
 * Nothing signed in one attempt is valid in another, even for the same definition.
 * @param nonces nonce of share index i at array index i − 1
 * @throws RangeError when `definitionHash` is not 32 bytes or a nonce not {@link NONCE_BYTES}
 */
export function attemptSession(definitionHash: Uint8Array, nonces: readonly Uint8Array[]): Uint8Array {
  if (definitionHash.length !== 32)
    throw new RangeError(`"definition_hash" must be 32 bytes, got ${definitionHash.length}`);
  nonces.forEach((nonce, i) => {
    if (nonce.length !== NONCE_BYTES)
      throw new RangeError(`"nonces[${i}]" must be ${NONCE_BYTES} bytes, got ${nonce.length}`);
  });
  return sha256(concatBytes(ATTEMPT_DOMAIN, definitionHash, ...nonces));
}

function signingBytes(env: Envelope): Uint8Array {
  return concatBytes(DOMAIN, Envelope.encode({ ...env, signature: new Uint8Array(0) }));
}

/** The step a message kind belongs to. @throws RangeError for MESSAGE_KIND_UNSPECIFIED */
export function stepOfKind(kind: MessageKind): number {
  if (kind === MessageKind.MESSAGE_KIND_UNSPECIFIED) throw new RangeError(`"kind" must be specified`);
  return KIND_STEP[kind];
}

/**
 * Encodes and signs an envelope of `kind` (its step follows from the kind).
 * @param receiver 1-based share index of the receiver for a private kind (SHARES); omitted otherwise
 * @throws RangeError when a private kind lacks its receiver or a broadcast kind has one
 */
export async function sealEnvelope(
  signer: IdentitySigner,
  session: Uint8Array,
  sender: ShareIndex,
  kind: MessageKind,
  payload: Uint8Array,
  receiver = 0,
): Promise<Uint8Array> {
  if (PRIVATE_KINDS.has(kind) !== receiver > 0) {
    throw new RangeError(`"receiver" must be ${PRIVATE_KINDS.has(kind) ? "set" : "0"} for ${kind}, got ${receiver}`);
  }
  const env: Envelope = {
    session: session as Uint8Array<ArrayBuffer>,
    sender,
    step: stepOfKind(kind),
    payload: payload as Uint8Array<ArrayBuffer>,
    signature: new Uint8Array(0),
    kind,
    receiver,
  };
  env.signature = (await signer.sign(signingBytes(env))) as Uint8Array<ArrayBuffer>;
  return Envelope.encode(env);
}

/** What {@link openEnvelope} requires of an envelope. */
export interface OpenOpts {
  /** The attempt session, 32 bytes. */
  session: Uint8Array;
  /** The kind the caller needs; the step must be the kind's. */
  kind: MessageKind;
  /** For a private kind: the 1-based share index it must be addressed to. */
  receiver?: number;
  /** The Noise-authenticated or accused sender, or undefined to accept any listed operator. */
  expectedSender?: number;
  n: number;
  verifier: IdentityVerifier;
}

/**
 * Decodes an envelope and checks sender, session, kind, step, receiver and signature, in that order.
 * @throws DkgError MALFORMED_MESSAGE naming the sender (`detail` says which check failed)
 */
export async function openEnvelope(bytes: Uint8Array, opts: OpenOpts): Promise<Envelope> {
  const step = stepOfKind(opts.kind);
  const blame = opts.expectedSender ?? 0;
  let env: Envelope;
  try {
    env = Envelope.decode(bytes);
  } catch (err) {
    throw fault("MALFORMED_MESSAGE", step, [blame], `undecodable envelope: ${(err as Error).message}`);
  }
  const sender = env.sender;
  const ev = [toHex(bytes)];
  if (opts.expectedSender !== undefined && sender !== opts.expectedSender) {
    throw fault("MALFORMED_MESSAGE", step, [blame], `envelope claims sender ${sender}`, ev);
  }
  if (sender < 1 || sender > opts.n) throw fault("MALFORMED_MESSAGE", step, [blame], `sender ${sender} out of range`);
  if (!bytesEqual(env.session, opts.session)) {
    throw fault("MALFORMED_MESSAGE", step, [sender], "envelope from another session or attempt", ev);
  }
  if (env.kind !== opts.kind) {
    throw fault("MALFORMED_MESSAGE", step, [sender], `envelope of kind ${env.kind}, expected ${opts.kind}`, ev);
  }
  if (env.step !== step) throw fault("MALFORMED_MESSAGE", step, [sender], `envelope for step ${env.step}`, ev);
  const receiver = PRIVATE_KINDS.has(opts.kind) ? (opts.receiver ?? -1) : 0;
  if (env.receiver !== receiver) {
    throw fault("MALFORMED_MESSAGE", step, [sender], `envelope addressed to ${env.receiver}, expected ${receiver}`, ev);
  }
  if (!(await opts.verifier.verify(sender as ShareIndex, signingBytes(env), env.signature))) {
    throw fault("MALFORMED_MESSAGE", step, [sender], "bad identity signature on envelope", ev);
  }
  return env;
}

/**
 * Authenticates an envelope of any kind (evidence inside a complaint): decodes it and checks that
 * its sender is an operator, its session is `session`, its step is its kind's, a private kind names
 * a receiver and a broadcast kind none, and its sender's identity key signed it. What kind, sender
 * and receiver the evidence needs is the caller's to check.
 * @returns the envelope, or why it does not authenticate
 */
export async function authenticateEnvelope(
  bytes: Uint8Array,
  opts: { session: Uint8Array; n: number; verifier: IdentityVerifier },
): Promise<{ envelope: Envelope } | { detail: string }> {
  let env: Envelope;
  try {
    env = Envelope.decode(bytes);
  } catch (err) {
    return { detail: `undecodable envelope: ${(err as Error).message}` };
  }
  if (env.sender < 1 || env.sender > opts.n) return { detail: `sender ${env.sender} out of range` };
  if (!bytesEqual(env.session, opts.session)) return { detail: "envelope from another session or attempt" };
  if (env.kind === MessageKind.MESSAGE_KIND_UNSPECIFIED || KIND_STEP[env.kind] === undefined)
    return { detail: `envelope of kind ${env.kind}` };
  if (env.step !== KIND_STEP[env.kind]) return { detail: `envelope for step ${env.step}` };
  const addressed = env.receiver >= 1 && env.receiver <= opts.n;
  if (PRIVATE_KINDS.has(env.kind) ? !addressed : env.receiver !== 0)
    return { detail: `envelope of kind ${env.kind} addressed to ${env.receiver}` };
  let ok: boolean;
  try {
    ok = await opts.verifier.verify(env.sender as ShareIndex, signingBytes(env), env.signature);
  } catch (err) {
    return { detail: `identity signature check: ${(err as Error).message}` };
  }
  return ok ? { envelope: env } : { detail: "bad identity signature on envelope" };
}

/** SHA-256 digest of an encoded envelope (echo step), 32 bytes. */
export function envelopeDigest(bytes: Uint8Array): Uint8Array {
  return sha256(bytes);
}
