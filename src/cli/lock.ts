/** `cohort lock verify`: checks every hash and signature of a cluster lock. */
import type { Command } from "commander";
import { toHex } from "../lib/bytes.js";
import { EXIT, ExitError } from "./run.js";

/** Registers `lock verify`. */
export function registerLock(program: Command): void {
  // exitOverride: see registerDefinition (usage errors must exit 2).
  const lock = program.command("lock").description("Inspect and verify a cluster lock").exitOverride();

  lock
    .command("verify")
    .description(
      "Verify a cluster lock: definition hashes and operator signatures, lock_hash, node signatures, " +
        "public shares against each validator key, deposit data, and signature_aggregate. Exit 0 when all pass, 1 otherwise",
    )
    .requiredOption("--lock <file>", "cluster-lock.json to verify")
    .action(async (opts: { lock: string }) => {
      // loaded on use: the lock code pulls in the mcl-wasm backend, which slows every other command's start
      const { readLockFile, verifyLock } = await import("../cluster/lock.js");
      const parsed = await readLockFile(opts.lock);
      const result = await verifyLock(parsed);
      if (!result.ok) {
        for (const e of result.errors) console.error(`  - ${e}`);
        throw new ExitError(
          EXIT.FAILURE,
          `lock verification failed: ${result.errors.length} problem(s) in ${opts.lock}`,
        );
      }
      const def = parsed.definition;
      console.log(`lock ok: ${toHex(parsed.lockHash)}`);
      console.log(
        `${parsed.distributedValidators.length} validator(s), ${def.operators.length} operators, threshold ${def.threshold}, network ${def.network.name}`,
      );
      for (const v of parsed.distributedValidators) console.log(toHex(v.publicKey));
    });
}
