/**
 * The EIP-3076 conformance suite (../shared/vectors/eip3076/*.json), one case per file, run with the rules of
 * DESIGN.md § Slashing protection and complete-strategy expectations.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fromHex } from "../../src/lib/bytes.js";
import { importInterchange, parseInterchange } from "../../src/slashing/interchange.js";
import { SlashingError } from "../../src/slashing/rules.js";
import { SlashingProtectionDb } from "../../src/slashing/store.js";
import { EIP3076_VECTORS_DIR, tempDir } from "./helpers.js";

interface Attempt {
  pubkey: string;
  signing_root?: string;
  should_succeed: boolean;
  should_succeed_complete?: boolean;
}
interface BlockAttempt extends Attempt {
  slot: string;
}
interface AttestationAttempt extends Attempt {
  source_epoch: string;
  target_epoch: string;
}
interface Step {
  should_succeed: boolean;
  contains_slashable_data: boolean;
  interchange: unknown;
  blocks: BlockAttempt[];
  attestations: AttestationAttempt[];
}
interface TestFile {
  name: string;
  genesis_validators_root: string;
  steps: Step[];
}

const files = readdirSync(EIP3076_VECTORS_DIR)
  .filter((f) => f.endsWith(".json") && f !== "schema.json")
  .sort();

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function expected(a: Attempt): boolean {
  return a.should_succeed_complete ?? a.should_succeed;
}

function attempt(fn: () => void): { ok: true } | { ok: false; code: string } {
  try {
    fn();
    return { ok: true };
  } catch (err) {
    if (err instanceof SlashingError) return { ok: false, code: err.code };
    throw err;
  }
}

describe("EIP-3076 interchange conformance suite", () => {
  it("has the 38 vector files", () => {
    expect(files).toHaveLength(38);
  });

  for (const file of files) {
    it(file, () => {
      const t = JSON.parse(readFileSync(path.join(EIP3076_VECTORS_DIR, file), "utf8")) as TestFile;
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const db = new SlashingProtectionDb({ dataDir: dir, genesisValidatorsRoot: fromHex(t.genesis_validators_root) });
      cleanups.unshift(() => db.close());
      const mismatches: string[] = [];
      for (const [i, step] of t.steps.entries()) {
        let imported = true;
        try {
          importInterchange(db, parseInterchange(step.interchange));
        } catch (err) {
          imported = false;
          if (step.should_succeed && step.contains_slashable_data) break; // refusing slashable data skips the rest
          if (step.should_succeed) throw err;
        }
        if (imported && !step.should_succeed) mismatches.push(`step ${i}: import succeeded, expected failure`);
        for (const b of step.blocks) {
          const root = fromHex(b.signing_root ?? `0x${"00".repeat(32)}`);
          const res = attempt(() => db.checkAndRecordBlock(fromHex(b.pubkey), BigInt(b.slot), root));
          if (res.ok !== expected(b)) {
            mismatches.push(`step ${i}: block ${b.slot} ${b.signing_root}: got ${JSON.stringify(res)}`);
          }
        }
        for (const a of step.attestations) {
          const root = fromHex(a.signing_root ?? `0x${"00".repeat(32)}`);
          const res = attempt(() =>
            db.checkAndRecordAttestation(fromHex(a.pubkey), BigInt(a.source_epoch), BigInt(a.target_epoch), root),
          );
          if (res.ok !== expected(a)) {
            mismatches.push(`step ${i}: attestation ${a.source_epoch}→${a.target_epoch}: got ${JSON.stringify(res)}`);
          }
        }
      }
      expect(mismatches).toEqual([]);
    });
  }
});
