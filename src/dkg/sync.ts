/**
 * The signed hello of the DKG's sync step (DESIGN.md § DKG protocol step 1, proto/sync.proto): what
 * each node says about itself (session, protocol version, step, nonce) under its identity key.
 */
import { verifyIdentitySignature } from "../p2p/identity.js";
import { Hello } from "../pb/sync.js";
import type { IdentitySigner } from "./transport.js";

/** The fields of a hello, without its signature. */
export interface HelloFields {
  /** The definition hash, 32 bytes. */
  session: Uint8Array;
  protocolVersion: string;
  /** Ceremony step the sender has reached, ≥ 0. */
  step: number;
  /** The sender's 32-byte attempt nonce; empty in the nonce-less hello answered on a version mismatch. */
  nonce: Uint8Array;
}

/** Encodes and signs a hello: the signature is over its encoding with `signature` empty. */
export async function signHello(signer: IdentitySigner, fields: HelloFields): Promise<Uint8Array> {
  const base = {
    session: Uint8Array.from(fields.session),
    protocolVersion: fields.protocolVersion,
    step: fields.step,
    nonce: Uint8Array.from(fields.nonce),
  };
  const signature = await signer.sign(Hello.encode({ ...base, signature: new Uint8Array(0) }));
  return Hello.encode({ ...base, signature: Uint8Array.from(signature) });
}

/** True when `hello` is signed by `peerId`'s identity key (base58 secp256k1 peer ID). */
export async function verifyHello(peerId: string, hello: Hello): Promise<boolean> {
  const unsigned = Hello.encode({ ...hello, signature: new Uint8Array(0) });
  return await verifyIdentitySignature(peerId, unsigned, hello.signature);
}
