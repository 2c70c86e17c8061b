/**
 * zod schemas derived from @chainsafe/ssz types for their JSON form, the beacon-APIs encoding that
 * `Type.fromJson` reads (snake_case keys, uint64 as decimal strings, bytes as 0x-hex), so a request
 * body is checked field by field, with a path to the bad one, before `fromJson` converts it.
 * https://github.com/ethereum/beacon-APIs (§ types), https://github.com/ChainSafe/ssz
 */
import {
  BitListType,
  BitVectorType,
  BooleanType,
  ByteListType,
  ByteVectorType,
  ContainerType,
  ListBasicType,
  ListCompositeType,
  type Type,
  UintBigintType,
  UintNumberType,
  VectorBasicType,
  VectorCompositeType,
} from "@chainsafe/ssz";
import { z } from "zod";

const HEX_RE = /^0x([0-9a-fA-F]{2})*$/;
const DECIMAL_RE = /^[0-9]{1,20}$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** zod error option: "is required" when the value is absent, `must be <what>` otherwise. */
export function expected(what: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => (issue.input === undefined ? "is required" : `must be ${what}`) };
}

const cache = new WeakMap<Type<unknown>, z.ZodType>();

/**
 * The zod schema of the JSON form of `type`. Its output is the validated JSON itself (unknown object
 * keys dropped), ready for `type.fromJson`; every value `fromJson` would misread is an issue here:
 * - uint: a decimal string (JSON numbers are refused: beacon-APIs send strings). `UintNumberType`
 *   values above 2^53 − 1 are refused, since @lodestar/types holds them as JS numbers and would
 *   hash a rounded value; `UintBigintType` takes the full range of its byte length.
 * - byte vector / list: 0x-hex, exact length / at most the limit, in bytes.
 * - bitvector / bitlist: 0x-hex of the SSZ serialisation (padding bits zero; bitlist delimiter bit
 *   present, length within the limit).
 * - list / vector: an array of at most / exactly the limit / length entries.
 * - container: an object with every field (by its `jsonKey`).
 * Schemas are cached per type.
 * @throws TypeError for an SSZ type this module does not map (union, optional, progressive, ...)
 */
export function sszJsonSchema(type: Type<unknown>): z.ZodType {
  let schema = cache.get(type);
  if (schema === undefined) {
    schema = build(type);
    cache.set(type, schema);
  }
  return schema;
}

/**
 * The object shape (`jsonKey` → schema) of a container's JSON form, to extend with fields a request
 * carries next to a consensus container (e.g. Web3Signer's `deposit.genesis_fork_version`).
 * @throws TypeError for a field type that {@link sszJsonSchema} does not map
 */
export function sszJsonShape<F extends Record<string, Type<unknown>>>(
  type: ContainerType<F>,
): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const { jsonKey, fieldType } of type.fieldsEntries) shape[jsonKey] = sszJsonSchema(fieldType as Type<unknown>);
  return shape;
}

function build(type: Type<unknown>): z.ZodType {
  if (type instanceof ContainerType) {
    return z.object(sszJsonShape(type as ContainerType<Record<string, Type<unknown>>>), expected("an object"));
  }
  if (type instanceof ListCompositeType || type instanceof ListBasicType) {
    const limit = type.limit;
    return z.array(sszJsonSchema(type.elementType as Type<unknown>), expected("an array")).superRefine((a, ctx) => {
      if (a.length > limit)
        ctx.addIssue({ code: "custom", message: `must have at most ${limit} entries, got ${a.length}` });
    });
  }
  if (type instanceof VectorCompositeType || type instanceof VectorBasicType) {
    const length = type.length;
    return z.array(sszJsonSchema(type.elementType as Type<unknown>), expected("an array")).superRefine((a, ctx) => {
      if (a.length !== length)
        ctx.addIssue({ code: "custom", message: `must have ${length} entries, got ${a.length}` });
    });
  }
  if (type instanceof BitListType || type instanceof BitVectorType) {
    const what =
      type instanceof BitListType
        ? `an SSZ bitlist of at most ${type.limitBits} bits as 0x-hex`
        : `an SSZ bitvector of ${type.lengthBits} bits as 0x-hex`;
    return hexString(what, (s, ctx) => {
      try {
        type.fromJson(s);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: `must be ${what}: ${(err as Error).message}` });
      }
    });
  }
  if (type instanceof ByteVectorType) {
    const length = type.lengthBytes;
    return hexString(`0x-prefixed hex of ${length} bytes`, (s, ctx) => {
      const n = (s.length - 2) / 2;
      if (n !== length) ctx.addIssue({ code: "custom", message: `must be ${length} bytes, got ${n}` });
    });
  }
  if (type instanceof ByteListType) {
    const limit = type.limitBytes;
    return hexString(`0x-prefixed hex of at most ${limit} bytes`, (s, ctx) => {
      const n = (s.length - 2) / 2;
      if (n > limit) ctx.addIssue({ code: "custom", message: `must be at most ${limit} bytes, got ${n}` });
    });
  }
  if (type instanceof UintNumberType || type instanceof UintBigintType) {
    const full = (1n << BigInt(8 * type.byteLength)) - 1n;
    const max = type instanceof UintNumberType && full > MAX_SAFE ? MAX_SAFE : full;
    return z.string(expected("a decimal string")).superRefine((s, ctx) => {
      if (!DECIMAL_RE.test(s)) ctx.addIssue({ code: "custom", message: `must be a decimal string, got "${clip(s)}"` });
      else if (BigInt(s) > max) ctx.addIssue({ code: "custom", message: `must be at most ${max}, got ${s}` });
    });
  }
  if (type instanceof BooleanType) return z.boolean(expected("true or false"));
  throw new TypeError(`SSZ type ${type.typeName} has no JSON schema mapping`);
}

function hexString(what: string, check: (s: string, ctx: z.RefinementCtx) => void): z.ZodType {
  return z.string(expected(what)).superRefine((s, ctx) => {
    if (!HEX_RE.test(s)) ctx.addIssue({ code: "custom", message: `must be ${what}, got "${clip(s)}"` });
    else check(s, ctx);
  });
}

function clip(s: string): string {
  return s.length > 24 ? `${s.slice(0, 24)}…` : s;
}
