// VerifyQueue: verifications asked for in one event-loop turn share one multi-pairing; each caller
// still gets its own answer.
import { describe, expect, it } from "vitest";
import { SecretKey } from "../../src/crypto/bls.js";
import { VerifyQueue } from "../../src/signing/verifyQueue.js";

const keys = Array.from({ length: 6 }, () => SecretKey.random());
const msgs = keys.map((_, i) => new Uint8Array(32).fill(i + 1));
const good = keys.map((k, i) => ({ publicKey: k.publicKey(), message: msgs[i]!, signature: k.sign(msgs[i]!) }));

describe("VerifyQueue", () => {
  it("verifies concurrent requests in one batch", async () => {
    const q = new VerifyQueue();
    const results = await Promise.all(good.map((s) => q.verify(s.publicKey, s.message, s.signature)));
    expect(results).toEqual(good.map(() => true));
    expect(q.batches).toBe(1);
  });

  it("a bad signature in a batch is false for its caller only", async () => {
    const q = new VerifyQueue();
    const items = good.map((s) => ({ ...s }));
    items[2] = { ...items[2]!, signature: good[3]!.signature };
    items[4] = { ...items[4]!, message: new Uint8Array(32).fill(0xee) };
    const results = await Promise.all(items.map((s) => q.verify(s.publicKey, s.message, s.signature)));
    expect(results).toEqual([true, true, false, true, false, true]);
  });

  it("malformed points are false, never a rejection", async () => {
    const q = new VerifyQueue();
    const notAPoint = new Uint8Array(96).fill(0xff);
    const results = await Promise.all([
      q.verify(good[0]!.publicKey, good[0]!.message, notAPoint),
      q.verify(good[1]!.publicKey, good[1]!.message, good[1]!.signature),
      q.verify(new Uint8Array(48), good[2]!.message, good[2]!.signature),
    ]);
    expect(results).toEqual([false, true, false]);
    expect(await q.verify(good[0]!.publicKey, good[0]!.message, notAPoint)).toBe(false);
  });

  it("a lone request is checked on its own, not batched", async () => {
    const q = new VerifyQueue();
    expect(await q.verify(good[0]!.publicKey, good[0]!.message, good[0]!.signature)).toBe(true);
    expect(await q.verify(good[1]!.publicKey, good[0]!.message, good[0]!.signature)).toBe(false);
    expect(q.batches).toBe(0);
  });
});
