/** `cohort definition create|sign|verify`: make, approve and check a cluster definition. */
import type { Command } from "commander";
import { type NetworkFlags, networkFromFlags } from "../app/options.js";
import {
  type ClusterDefinition,
  createDefinition,
  readDefinitionFile,
  serializeDefinition,
  signDefinition,
  verifyDefinition,
} from "../cluster/definition.js";
import { parseEthAmount } from "../eth2/deposit.js";
import { PRESET_NETWORK_NAMES } from "../eth2/networks.js";
import { toHex } from "../lib/bytes.js";
import { errorMessage, InputError } from "../lib/errors.js";
import { exists, writeFileAtomic } from "../lib/fs.js";
import { loadIdentity } from "../p2p/identity.js";
import { DEFAULT_DATA_DIR } from "./identity.js";
import { addCustomNetworkOptions } from "./network.js";

interface CreateOpts extends NetworkFlags {
  name: string;
  operators: string;
  threshold?: string;
  validators: string;
  withdrawalAddress: string;
  feeRecipient?: string;
  depositAmounts: string;
  compounding?: boolean;
  allowSmall?: boolean;
  out: string;
  force?: boolean;
}

function parseInteger(value: string, field: string): number {
  if (!/^\d{1,9}$/.test(value.trim()))
    throw new InputError(field, `"${field}" must be a positive integer, got "${value}"`);
  return Number(value.trim());
}

function splitList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Writes `text` to `file` atomically (0600), reporting an unwritable path as bad input. */
async function writeOut(file: string, text: string, field: string): Promise<void> {
  try {
    await writeFileAtomic(file, text);
  } catch (err) {
    throw new InputError(
      field,
      `"${field}": cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`,
      {
        cause: err,
      },
    );
  }
}

function signedCount(def: ClusterDefinition): number {
  return def.operators.filter((o) => o.configSignature.length > 0).length;
}

/** Registers `definition create`, `definition sign` and `definition verify`. */
export function registerDefinition(program: Command): void {
  // exitOverride here too: runCli sets it on the root only after every command is registered, and
  // commander copies it to subcommands only at creation, so usage errors would exit 1, not 2.
  const definition = program
    .command("definition")
    .description("Create, sign and verify a cluster definition")
    .exitOverride();

  const create = definition
    .command("create")
    .description("Create an unsigned cluster definition (cohort/v2) and write it to --out (mode 0600)")
    .requiredOption("--name <name>", "cluster name")
    .requiredOption(
      "--operators <list>",
      "comma-separated operator peer IDs in share-index order; each may be peerId@multiaddr to give an address hint",
    )
    .option("--threshold <t>", "signatures needed, 1 ≤ t ≤ n and 2t > n (default ⌈2n/3⌉)")
    .requiredOption("--validators <count>", "number of distributed validators")
    .option(
      "--network <name>",
      `${PRESET_NETWORK_NAMES.join("|")}, or a custom network's name with --genesis-fork-version`,
    );
  addCustomNetworkOptions(create)
    .requiredOption(
      "--withdrawal-address <address>",
      "execution address (EIP-55), or a comma-separated list with one per validator",
    )
    .option("--fee-recipient <address>", "execution address or one per validator (default: the withdrawal address)")
    .option(
      "--deposit-amounts <eth>",
      "comma-separated deposit amounts in ETH, each 1-32 (1-2048 with --compounding), summing to at least 32",
      "32",
    )
    .option("--compounding", "0x02 (compounding, EIP-7251) withdrawal credentials instead of 0x01")
    .option("--allow-small", "allow fewer than 3 operators (local tests only)")
    .requiredOption("--out <file>", "where to write the definition")
    .option("--force", "overwrite --out if it exists")
    .action(async (opts: CreateOpts) => {
      const network = networkFromFlags(opts);
      const operators = splitList(opts.operators);
      const { definition: def, warnings } = createDefinition({
        name: opts.name,
        operators,
        threshold: opts.threshold === undefined ? undefined : parseInteger(opts.threshold, "threshold"),
        numValidators: parseInteger(opts.validators, "validators"),
        network,
        withdrawalAddresses: splitList(opts.withdrawalAddress),
        feeRecipients: opts.feeRecipient === undefined ? undefined : splitList(opts.feeRecipient),
        depositAmountsGwei: splitList(opts.depositAmounts).map((a) => parseEthAmount(a, "deposit-amounts")),
        compounding: opts.compounding ?? false,
        allowSmall: opts.allowSmall ?? false,
      });
      if (!opts.force && (await exists(opts.out))) {
        throw new InputError("out", `"out": ${opts.out} already exists (pass --force to overwrite)`);
      }
      await writeOut(opts.out, serializeDefinition(def), "out");
      for (const w of warnings) console.error(`warning: ${w}`);
      console.log(`wrote ${opts.out}`);
      console.log(`config_hash: ${toHex(def.configHash)}`);
      console.log(
        `${def.operators.length} operators, threshold ${def.threshold}, ${def.numValidators} validator(s) on ${def.network.name}`,
      );
      console.log(`next: each operator runs "cohort definition sign --definition ${opts.out}"`);
    });

  definition
    .command("sign")
    .description("Add this operator's signature over config_hash to the definition, in place (atomic, mode 0600)")
    .option("--data-dir <dir>", "data directory holding identity.key", DEFAULT_DATA_DIR)
    .requiredOption("--definition <file>", "cluster-definition.json to sign")
    .action(async (opts: { dataDir: string; definition: string }) => {
      const def = await readDefinitionFile(opts.definition);
      const identity = await loadIdentity(opts.dataDir);
      const signed = await signDefinition(def, identity);
      await writeOut(opts.definition, serializeDefinition(signed), "definition");
      const index = signed.operators.findIndex((o) => o.peerId === identity.peerId);
      console.log(`signed as operator ${index} (${identity.peerId})`);
      console.log(`${signedCount(signed)} of ${signed.operators.length} operators have signed`);
      console.log(`definition_hash: ${toHex(signed.definitionHash)}`);
    });

  definition
    .command("verify")
    .description("Check the definition's hashes and that every operator has signed it")
    .requiredOption("--definition <file>", "cluster-definition.json to check")
    .action(async (opts: { definition: string }) => {
      const def = await readDefinitionFile(opts.definition);
      await verifyDefinition(def);
      console.log(`definition ok: ${def.operators.length} operators signed`);
      console.log(`definition_hash: ${toHex(def.definitionHash)}`);
    });
}
