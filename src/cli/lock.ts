/**
 * `cohort lock verify`: checks every hash and signature of a cluster lock. `cohort lock
 * delete-old-keys`: deletes the keystores a reshare left behind, once the new lock is confirmed.
 */
import path from "node:path";
import type { Command } from "commander";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import { exists } from "../lib/fs.js";
import { DEFAULT_DATA_DIR } from "./identity.js";
import { EXIT, ExitError } from "./run.js";

/** Registers `lock verify` and `lock delete-old-keys`. */
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

  lock
    .command("delete-old-keys")
    .description(
      "Delete this node's keystores of a lock that a reshare replaced (validator_keys.previous-<h>/, or a retiring " +
        "operator's validator_keys/) once every operator of the new lock has confirmed it to this node: at the end of the " +
        "ceremony, or by announcing it to this node's cohort run when connecting. Any t old shares still hold the keys " +
        "until their operators delete them",
    )
    .option("--data-dir <dir>", "data directory of this operator", DEFAULT_DATA_DIR)
    .option("--force", "delete even when some operators of the new lock have not confirmed it")
    .action(async (opts: { dataDir: string; force?: boolean }) => {
      const { loadIdentity } = await import("../p2p/identity.js");
      const { deleteOldKeys, findOldKeys } = await import("../app/oldKeys.js");
      const identity = await loadIdentity(opts.dataDir);
      const found = await findOldKeys(opts.dataDir, identity.peerId);
      if (found.length === 0) {
        console.log(`no old keystores in ${opts.dataDir}`);
        return;
      }
      // every check first: nothing is deleted when one set may not be
      if (!opts.force) {
        const blocked = found.find((f) => f.unconfirmed.length > 0);
        if (blocked !== undefined) await deleteOldKeys(opts.dataDir, blocked, false);
      }
      for (const f of found) {
        await deleteOldKeys(opts.dataDir, f, opts.force);
        const note =
          f.unconfirmed.length > 0 ? ` (--force: ${f.unconfirmed.length} operator(s) had not confirmed)` : "";
        console.log(
          `deleted ${path.join(opts.dataDir, f.dir)}: shares of lock ${toHex(f.replaced.lockHash)}, replaced by ${toHex(f.by.lockHash)}${note}`,
        );
      }
    });
}
