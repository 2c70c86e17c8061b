/**
 * Signed ceremony envelopes: every message is bound to the session (definition_hash), the sender's
 * 1-based share index and the step, and signed with the sender's identity key.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesEqual, concatBytes, toHex } from "../lib/bytes.js";
import type { ShareIndex } from "../lib/types.js";
import { Envelope } from "../pb/bcast.js";
import { fault } from "./errors.js";
import type { IdentitySigner, IdentityVerifier } from "./transport.js";

const DOMAIN = new TextEncoder().encode("cohort/dkg/v1");

function signingBytes(env: Envelope): Uint8Array {
  return concatBytes(DOMAIN, Envelope.encode({ ...env, signature: new Uint8Array(0) }));
}

/** Encodes and signs an envelope. */
export async function sealEnvelope(
  signer: IdentitySigner,
  session: Uint8Array,
  sender: ShareIndex,
  step: number,
  payload: Uint8Array,
): Promise<Uint8Array> {
  const env: Envelope = {
    session: session as Uint8Array<ArrayBuffer>,
    sender,
    step,
    payload: payload as Uint8Array<ArrayBuffer>,
    signature: new Uint8Array(0),
  };
  env.signature = (await signer.sign(signingBytes(env))) as Uint8Array<ArrayBuffer>;
  return Envelope.encode(env);
}

/**
 * Decodes an envelope and checks session, step, sender and signature.
 * @param expectedSender the Noise-authenticated sender, or undefined to accept any listed operator
 * @throws DkgError MALFORMED_MESSAGE naming the sender
 */
export async function openEnvelope(
  bytes: Uint8Array,
  opts: {
    session: Uint8Array;
    step: number;
    expectedSender?: number;
    n: number;
    verifier: IdentityVerifier;
  },
): Promise<Envelope> {
  const blame = opts.expectedSender ?? 0;
  let env: Envelope;
  try {
    env = Envelope.decode(bytes);
  } catch (err) {
    throw fault("MALFORMED_MESSAGE", opts.step, [blame], `undecodable envelope: ${(err as Error).message}`);
  }
  const sender = env.sender;
  if (opts.expectedSender !== undefined && sender !== opts.expectedSender) {
    throw fault("MALFORMED_MESSAGE", opts.step, [blame], `envelope claims sender ${sender}`, [toHex(bytes)]);
  }
  if (sender < 1 || sender > opts.n)
    throw fault("MALFORMED_MESSAGE", opts.step, [blame], `sender ${sender} out of range`);
  if (!bytesEqual(env.session, opts.session)) {
    throw fault("MALFORMED_MESSAGE", opts.step, [sender], "envelope from another session", [toHex(bytes)]);
  }
  if (env.step !== opts.step) {
    throw fault("MALFORMED_MESSAGE", opts.step, [sender], `envelope for step ${env.step}`, [toHex(bytes)]);
  }
  if (!(await opts.verifier.verify(sender as ShareIndex, signingBytes(env), env.signature))) {
    throw fault("MALFORMED_MESSAGE", opts.step, [sender], "bad identity signature on envelope", [toHex(bytes)]);
  }
  return env;
}

/** SHA-256 digest of an encoded envelope (echo step). */
export function envelopeDigest(bytes: Uint8Array): Uint8Array {
  return sha256(bytes);
}
