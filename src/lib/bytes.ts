/** Byte helpers: 0x-hex codec with strict validation, concatenation, equality, integer encodings. */

const HEX_RE = /^0x([0-9a-fA-F]{2})*$/;

/**
 * Decodes a 0x-prefixed hex string.
 * @param field the field name quoted in errors
 * @param length expected byte length, if fixed
 * @throws TypeError when not a 0x-hex string; RangeError on a wrong length
 */
export function fromHex(hex: unknown, field = "value", length?: number): Uint8Array {
  if (typeof hex !== "string" || !HEX_RE.test(hex)) {
    throw new TypeError(`"${field}" must be a 0x-prefixed hex string`);
  }
  const out = Buffer.from(hex.slice(2), "hex");
  if (length !== undefined && out.length !== length) {
    throw new RangeError(`"${field}" must be ${length} bytes, got ${out.length}`);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Encodes bytes as lower-case 0x-prefixed hex. */
export function toHex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")}`;
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Constant-time-irrelevant equality of two byte arrays (public data only). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** 4-byte big-endian encoding of an unsigned 32-bit integer. */
export function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** 8-byte little-endian encoding of an unsigned 64-bit integer (SSZ uint64). */
export function u64le(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, true);
  return out;
}
