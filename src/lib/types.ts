/** Branded byte and number types used at module boundaries. */

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Compressed G1 point, 48 bytes (BLS public key, commitment, public share). */
export type BlsPublicKey = Brand<Uint8Array, "BlsPublicKey">;
/** Compressed G2 point, 96 bytes (BLS signature, partial signature). */
export type BlsSignature = Brand<Uint8Array, "BlsSignature">;
/** 32-byte SSZ root (signing root, hash tree root). */
export type Root = Brand<Uint8Array, "Root">;
/** 1-based share index of an operator, in definition order. */
export type ShareIndex = Brand<number, "ShareIndex">;
/** Amount in gwei. */
export type Gwei = bigint;
export type Slot = bigint;
export type Epoch = bigint;
