/**
 * `cohort definition reshare|add-validators`, `cohort reshare` and `cohort add-validators`: the
 * cluster lifecycle (DESIGN.md § Cluster lifecycle).
 */
import path from "node:path";
import type { Command } from "commander";
import { DEFAULT_DKG_TIMEOUT_MS, FILES } from "../app/files.js";
import type { LifecycleOperation } from "../cluster/definition.js";
import { type ClusterDefinition, serializeDefinition } from "../cluster/definition.js";
import { toHex } from "../lib/bytes.js";
import { errorMessage, InputError } from "../lib/errors.js";
import { exists, writeFileAtomic } from "../lib/fs.js";
import { ceremonyFlags, progressPrinter } from "./dkg.js";
import { DEFAULT_DATA_DIR } from "./identity.js";
import { EXIT, ExitError } from "./run.js";

const splitList = (value: string | undefined): string[] =>
  (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

function parseCount(value: string, field: string): number {
  if (!/^\d{1,9}$/.test(value.trim()) || Number(value) < 1)
    throw new InputError(field, `"${field}" must be a positive integer, got "${value}"`);
  return Number(value.trim());
}

async function writeDefinitionOut(file: string, def: ClusterDefinition, force: boolean | undefined): Promise<void> {
  if (!force && (await exists(file)))
    throw new InputError("out", `"out": ${file} already exists (pass --force to overwrite)`);
  try {
    await writeFileAtomic(file, serializeDefinition(def));
  } catch (err) {
    throw new InputError(
      "out",
      `"out": cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`,
      {
        cause: err,
      },
    );
  }
}

/** Reads `--lock` and verifies it in full. @throws InputError "lock" naming the first problem */
async function readVerifiedLock(file: string) {
  const { readLockFile, verifyLock } = await import("../cluster/lock.js");
  const lock = await readLockFile(file);
  const v = await verifyLock(lock);
  if (!v.ok) throw new InputError("lock", `"lock": ${file} does not verify: ${v.errors[0]}`);
  return lock;
}

/** Registers `definition reshare` and `definition add-validators` under the existing `definition`. */
function registerLifecycleDefinitions(program: Command): void {
  const definition = program.commands.find((c) => c.name() === "definition");
  if (definition === undefined) throw new Error("register `definition` first");
  definition
    .command("reshare")
    .description(
      "Create an unsigned reshare definition (cohort/v3) from a lock: a new operator set and threshold for the same " +
        "validators. Old operators outside the new set take part as retiring operators unless --absent; at least the " +
        "old threshold of old operators must take part. Every operator and retiring operator then signs it",
    )
    .requiredOption("--lock <file>", "the cluster-lock.json to reshare")
    .requiredOption(
      "--operators <list>",
      "comma-separated new operators, peerId or peerId@multiaddr; order fixes the new share indices",
    )
    .option("--threshold <t>", "new threshold, 2t > n (default ⌈2n/3⌉)")
    .option("--absent <list>", "comma-separated old operators (peer IDs) that will not take part")
    .option(
      "--non-dealing <list>",
      "comma-separated old operators (peer IDs) kept in the new set that lost their old shares: they receive new shares and deal nothing",
    )
    .option("--name <name>", "cluster name (default: the lock's)")
    .requiredOption("--out <file>", "where to write the definition")
    .option("--force", "overwrite --out if it exists")
    .action(
      async (opts: {
        lock: string;
        operators: string;
        threshold?: string;
        absent?: string;
        nonDealing?: string;
        name?: string;
        out: string;
        force?: boolean;
      }) => {
        const { createReshareDefinition } = await import("../cluster/lifecycle.js");
        const previous = await readVerifiedLock(opts.lock);
        const def = createReshareDefinition(previous, {
          operators: splitList(opts.operators),
          threshold: opts.threshold === undefined ? undefined : parseCount(opts.threshold, "threshold"),
          absent: splitList(opts.absent),
          nonDealing: splitList(opts.nonDealing),
          name: opts.name,
        });
        await writeDefinitionOut(opts.out, def, opts.force);
        const retiring = def.lifecycle!.retiringOperators;
        console.log(`wrote ${opts.out}`);
        console.log(
          `reshare of ${toHex(previous.lockHash)}: ${previous.definition.operators.length} operators (t=${previous.definition.threshold}) → ${def.operators.length} (t=${def.threshold}), ${retiring.length} retiring${def.lifecycle!.nonDealing.length > 0 ? `, ${def.lifecycle!.nonDealing.length} non-dealing` : ""}`,
        );
        console.log(`config_hash: ${toHex(def.configHash)}`);
        console.log(
          `next: every operator and retiring operator runs "cohort definition sign --definition ${opts.out}"`,
        );
      },
    );

  definition
    .command("add-validators")
    .description(
      "Create an unsigned addition definition (cohort/v3) from a lock: the same operators and threshold, and more " +
        "validators after the lock's. Every operator then signs it",
    )
    .requiredOption("--lock <file>", "the cluster-lock.json to add validators to")
    .requiredOption("--validators <count>", "number of validators to add")
    .requiredOption(
      "--withdrawal-address <addr>",
      "one execution address for every new validator, or a comma-separated list, one per new validator",
    )
    .option("--fee-recipient <addr>", "as --withdrawal-address (default: the withdrawal addresses)")
    .requiredOption("--out <file>", "where to write the definition")
    .option("--force", "overwrite --out if it exists")
    .action(
      async (opts: {
        lock: string;
        validators: string;
        withdrawalAddress: string;
        feeRecipient?: string;
        out: string;
        force?: boolean;
      }) => {
        const { createAdditionDefinition } = await import("../cluster/lifecycle.js");
        const previous = await readVerifiedLock(opts.lock);
        const added = parseCount(opts.validators, "validators");
        const def = createAdditionDefinition(previous, {
          numValidators: added,
          withdrawalAddresses: splitList(opts.withdrawalAddress),
          feeRecipients: opts.feeRecipient === undefined ? undefined : splitList(opts.feeRecipient),
        });
        await writeDefinitionOut(opts.out, def, opts.force);
        console.log(`wrote ${opts.out}`);
        console.log(`adds ${added} validator(s) to ${toHex(previous.lockHash)} (${def.numValidators} in all)`);
        console.log(`config_hash: ${toHex(def.configHash)}`);
        console.log(`next: each operator runs "cohort definition sign --definition ${opts.out}"`);
      },
    );
}

interface CeremonyFlags {
  dataDir: string;
  definition: string;
  previousLock?: string;
  p2pAddress?: string;
  timeout: string;
  kdf: string;
  logLevel: string;
  deleteOldKeys?: boolean;
}

function ceremonyCommand(program: Command, operation: LifecycleOperation, description: string): Command {
  return program
    .command(operation)
    .description(description)
    .option(
      "--data-dir <dir>",
      "data directory holding identity.key (and the current lock, for its operators)",
      DEFAULT_DATA_DIR,
    )
    .requiredOption("--definition <file>", `the signed ${operation} definition`)
    .option("--previous-lock <file>", `the lock the definition starts from (default: <data-dir>/${FILES.lock})`)
    .option(
      "--p2p-address <multiaddr>",
      "libp2p listen address (default: 127.0.0.1 on the port of this operator's address hint, else 3610)",
    )
    .option(
      "--timeout <duration>",
      "give up when the ceremony has not finished by then",
      `${DEFAULT_DKG_TIMEOUT_MS / 60_000}m`,
    )
    .option("--kdf <name>", "keystore key derivation: pbkdf2 or scrypt", "pbkdf2")
    .option("--log-level <level>", "JSON log level for <data-dir>/dkg.log", "info");
}

async function runCeremonyCommand(operation: LifecycleOperation, flags: CeremonyFlags): Promise<void> {
  const { timeoutMs, kdf, logger } = await ceremonyFlags(flags);
  const { runLifecycle } = await import("../app/lifecycle.js");
  const { DkgError } = await import("../dkg/errors.js");
  const started = Date.now();
  try {
    const out = await runLifecycle(
      {
        operation,
        dataDir: flags.dataDir,
        definitionFile: flags.definition,
        previousLockFile: flags.previousLock,
        p2pAddress: flags.p2pAddress,
        timeoutMs,
        kdf,
        deleteOldKeys: flags.deleteOldKeys,
        onProgress: progressPrinter(),
      },
      { logger },
    );
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`lock_hash ${toHex(out.lock.lockHash)} (previous ${toHex(out.previous.lockHash)}, ${secs}s)`);
    if (out.role === "retiring") {
      console.log(`this operator has left the cluster; the new lock is in ${path.join(flags.dataDir, "locks")}`);
    } else {
      for (const v of out.lock.distributedValidators) console.log(`validator ${toHex(v.publicKey)}`);
      console.log(`wrote ${out.written.length} files in ${flags.dataDir}`);
    }
    if (operation === "reshare" && out.oldKeys !== undefined) {
      if (out.deletedOldKeys) console.log(`deleted this node's old keystores (${out.oldKeys})`);
      else {
        console.error(
          `warning: any ${out.previous.definition.threshold} of the old shares still hold the validator keys; the reshare protects ` +
            `against the old operators only once they delete their old keystores (${path.join(flags.dataDir, out.oldKeys)}). ` +
            `Once every operator confirmed the new lock, run: cohort lock delete-old-keys --data-dir ${flags.dataDir}`,
        );
      }
    }
    if (out.unconfirmed.length > 0) {
      const who = out.unconfirmed.map((u) => `${u.index} (${u.peerId})`).join(", ");
      throw new ExitError(
        EXIT.UNCONFIRMED,
        `artifacts written, but operator(s) ${who} did not confirm: keep the old keys until every operator has run "cohort lock verify --chain" on an identical lock`,
      );
    }
    if (out.role === "operator") {
      console.log(
        `next: restart "cohort run --data-dir ${flags.dataDir}"; the cluster signs on the new lock once its threshold of operators runs it`,
      );
    }
  } catch (err) {
    if (err instanceof DkgError) {
      throw new ExitError(EXIT.FAILURE, `${err.message} (see ${path.join(flags.dataDir, FILES.failure)})`);
    }
    throw err;
  }
}

/** Registers the lifecycle definitions and ceremonies. */
export function registerLifecycle(program: Command): void {
  registerLifecycleDefinitions(program);
  ceremonyCommand(
    program,
    "reshare",
    "Run a reshare with the other operators of a signed reshare definition: the old operators deal their shares to the " +
      "new set; validator keys and deposit data stay. The new lock names the previous one; locks/ keeps the chain",
  )
    .option("--delete-old-keys", "delete this node's old keystores once every operator confirmed the new lock")
    .action((flags: CeremonyFlags) => runCeremonyCommand("reshare", flags));
  ceremonyCommand(
    program,
    "add-validators",
    "Run a DKG among the cluster's operators that appends validators to the lock (a signed addition definition). " +
      "Writes deposit data for the new validators only (the lock keeps every validator's); keystore numbering continues",
  ).action((flags: CeremonyFlags) => runCeremonyCommand("add-validators", flags));
}
