/** `cohort lock verify`: checks every hash and signature of a cluster lock. */
import path from "node:path";
import type { Command } from "commander";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import { exists } from "../lib/fs.js";
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
    .option(
      "--chain <dir>",
      "also verify the chain of locks that ends in --lock: every locks/<lock_hash>.json in <dir> (a data dir's locks/) " +
        "it descends from, as far back as <dir> holds them, each in full and each continuing the one before (same validator " +
        "keys and deposit data)",
    )
    .action(async (opts: { lock: string; chain?: string }) => {
      // loaded on use: the lock code pulls in the mcl-wasm backend, which slows every other command's start
      const { readLockFile, verifyLock } = await import("../cluster/lock.js");
      const parsed = await readLockFile(opts.lock);
      const result = await verifyLock(parsed);
      if (opts.chain !== undefined) {
        const { verifyLockChain } = await import("../cluster/lifecycle.js");
        const chain = [parsed];
        let missing: string | undefined;
        for (let prev = parsed.definition.lifecycle?.previousLockHash; prev !== undefined; ) {
          const file = path.join(opts.chain, `${toHex(prev)}.json`);
          // an operator that joined in a reshare holds the chain from the lock it joined at
          if (!(await exists(file))) {
            missing = toHex(prev);
            break;
          }
          const lock = await readLockFile(file, "chain");
          if (!bytesEqual(lock.lockHash, prev))
            throw new InputError("chain", `"chain": ${file} holds lock ${toHex(lock.lockHash)}`);
          if (chain.length > 1024) throw new InputError("chain", `"chain": more than 1024 locks`);
          chain.unshift(lock);
          prev = lock.definition.lifecycle?.previousLockHash;
        }
        result.errors.push(...(await verifyLockChain(chain, { skipLastLockCheck: true })));
        result.ok = result.errors.length === 0;
        if (result.ok) {
          console.log(`chain ok: ${chain.length} lock(s), first ${toHex(chain[0]!.lockHash)}`);
          if (missing !== undefined) console.log(`the first lock's previous lock ${missing} is not in ${opts.chain}`);
        }
      }
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
