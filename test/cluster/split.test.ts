// The pure parts of splitting an existing key (src/cluster/split.ts): the dealt shares recover the
// key from any t of n and not from t − 1; a draft is bound to its definition and its public shares;
// a lock signature is checked for its hash, node signature and share signature.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDefinition } from "../../src/cluster/definition.js";
import { computeLockHash } from "../../src/cluster/lock.js";
import {
  checkLockSignature,
  checkShares,
  draftToJson,
  draftValidator,
  parseDraft,
  type SplitDraft,
  shareSignatureAggregate,
  splitSecret,
} from "../../src/cluster/split.js";
import { SecretKey } from "../../src/crypto/bls.js";
import { recoverSecret } from "../../src/crypto/tbls.js";
import { toHex } from "../../src/lib/bytes.js";
import { InputError } from "../../src/lib/errors.js";
import type { Root, ShareIndex } from "../../src/lib/types.js";
import { defOpts, makeIdentities } from "./fixtures.js";

describe("splitSecret", () => {
  it("any t of n shares recover the key, t − 1 do not", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 7 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
        const t = Math.ceil((2 * n) / 3);
        const secret = SecretKey.random();
        const { shares, publicShares, publicKey } = splitSecret(secret, n, t);
        expect(toHex(publicKey)).toBe(toHex(secret.publicKey()));
        expect(publicShares.map(toHex)).toEqual(shares.map((s) => toHex(s.publicKey())));
        const indices = Array.from({ length: n }, (_, i) => i + 1).sort(
          (a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13),
        );
        const pick = (k: number) => indices.slice(0, k).map((i) => ({ index: i, value: shares[i - 1]! }));
        expect(recoverSecret(pick(t)).equals(secret)).toBe(true);
        expect(recoverSecret(pick(t - 1)).equals(secret)).toBe(false);
      }),
      { numRuns: 10 },
    );
  });

  it("refuses a threshold outside [1, n]", () => {
    expect(() => splitSecret(SecretKey.random(), 4, 5)).toThrow(RangeError);
    expect(() => splitSecret(SecretKey.random(), 4, 0)).toThrow(RangeError);
  });
});

describe("draft and lock signatures", async () => {
  const ids = await makeIdentities(4);
  const def = createDefinition(defOpts(ids, { numValidators: 1 })).definition;
  const secret = SecretKey.random();
  const split = splitSecret(secret, 4, def.threshold);
  const dv = draftValidator(def, 0, secret, split.publicShares);
  const draft: SplitDraft = {
    configHash: def.configHash,
    operator: { shareIndex: 2 as ShareIndex, peerId: ids[1]!.peerId },
    distributedValidators: [dv],
  };
  const json = () => JSON.parse(JSON.stringify(draftToJson(def, draft)));

  it("round-trips, and the operator's share matches its public share only", () => {
    const parsed = parseDraft(json(), def);
    expect(parsed.operator).toEqual(draft.operator);
    expect(toHex(parsed.distributedValidators[0]!.depositData[0]!.signature)).toBe(toHex(dv.depositData[0]!.signature));
    expect(() => checkShares(parsed, 2 as ShareIndex, [split.shares[1]!])).not.toThrow();
    expect(() => checkShares(parsed, 2 as ShareIndex, [split.shares[2]!])).toThrow(
      /is not public share 2 of the draft/,
    );
  });

  it("refuses another definition's draft, a public share off the polynomial, a wrong operator entry", () => {
    const other = createDefinition(defOpts(ids, { numValidators: 1, name: "other" })).definition;
    expect(() => parseDraft(json(), other)).toThrow(/"draft\.config_hash" .* is not the definition's/);
    const swapped = json();
    swapped.distributed_validators[0].public_shares[3] = toHex(SecretKey.random().publicKey());
    expect(() => parseDraft(swapped, def)).toThrow(/do not lie on one degree 2 polynomial/);
    const wrongOp = json();
    wrongOp.operator.share_index = 3;
    expect(() => parseDraft(wrongOp, def)).toThrow(InputError);
    const badDeposit = json();
    badDeposit.distributed_validators[0].deposit_data[0].signature = toHex(secret.sign(new Uint8Array(32)));
    expect(() => parseDraft(badDeposit, def)).toThrow(/deposit_data\[0\]/);
  });

  it("checks a lock signature's hash, node signature and share signature", async () => {
    const lockHash = computeLockHash(def, [dv]);
    const good = {
      lockHash,
      shareIndex: 2 as ShareIndex,
      peerId: ids[1]!.peerId,
      nodeSignature: await ids[1]!.sign(lockHash),
      shareSignatureAggregate: shareSignatureAggregate([split.shares[1]!], lockHash),
    };
    expect(await checkLockSignature(def, [dv], lockHash, good)).toBeUndefined();
    const otherHash = new Uint8Array(32).fill(1) as Root;
    expect(await checkLockSignature(def, [dv], lockHash, { ...good, lockHash: otherHash })).toMatch(
      /operator 1 \(share 2, .*\) signed lock_hash 0x0101/,
    );
    expect(
      await checkLockSignature(def, [dv], lockHash, { ...good, nodeSignature: await ids[2]!.sign(lockHash) }),
    ).toMatch(/node_signature does not verify/);
    expect(
      await checkLockSignature(def, [dv], lockHash, {
        ...good,
        shareSignatureAggregate: shareSignatureAggregate([split.shares[2]!], lockHash),
      }),
    ).toMatch(/share_signature_aggregate does not verify/);
    expect(await checkLockSignature(def, [dv], lockHash, { ...good, peerId: ids[0]!.peerId })).toMatch(
      /share 2 belongs to/,
    );
  });
});
