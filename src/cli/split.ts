/**
 * `cohort create cluster --split-existing-keys` and `cohort split import|sign-lock|assemble`: move
 * solo validators into a cluster with a trusted dealer (DESIGN.md § Cluster lifecycle).
 */
import { type Command, Option } from "commander";
import { type NetworkFlags, networkFromFlags, parsePositiveInt } from "../app/options.js";
import type { KdfName } from "../crypto/keystore.js";
import { parseEthAmount } from "../eth2/deposit.js";
import { PRESET_NETWORK_NAMES } from "../eth2/networks.js";
import { toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import { DEFAULT_DATA_DIR } from "./identity.js";
import { addCustomNetworkOptions } from "./network.js";

interface CreateClusterFlags extends NetworkFlags {
  splitExistingKeys?: boolean;
  keystores?: string;
  operators: string;
  threshold?: string;
  withdrawalAddress: string;
  feeRecipient?: string;
  depositAmounts: string;
  compounding?: boolean;
  name: string;
  slashingHistory?: string;
  kdf: KdfName;
  out: string;
}

function splitList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Registers `create cluster` and `split import|sign-lock|assemble`. */
export function registerSplit(program: Command): void {
  // exitOverride: see registerDefinition (usage errors must exit 2).
  const create = program.command("create").description("Create a cluster from existing validator keys").exitOverride();
  const cluster = create
    .command("cluster")
    .description(
      "With --split-existing-keys: a trusted dealer splits solo validator keys into shares and writes one bundle " +
        "per operator (<out>/operator-<share index>/: the definition, the draft lock, that operator's share " +
        "keystores and the slashing history; dir 0700, files 0600). This machine holds the whole keys: delete the " +
        "source keystores once the cluster runs",
    )
    .option("--split-existing-keys", "split the keys in --keystores (required: the only mode)")
    .option(
      "--keystores <dir>",
      "directory of EIP-2335 keystore-*.json files (one validator each, file-name order), each with its password " +
        "in the same-named .txt file",
    )
    .requiredOption(
      "--operators <list>",
      "comma-separated operator peer IDs in share-index order; each may be peerId@multiaddr",
    )
    .option("--threshold <t>", "signatures needed, 1 ≤ t ≤ n and 2t > n (default ⌈2n/3⌉)")
    .option(
      "--network <name>",
      `${PRESET_NETWORK_NAMES.join("|")}, or a custom network's name with --genesis-fork-version`,
    );
  addCustomNetworkOptions(cluster)
    .requiredOption(
      "--withdrawal-address <address>",
      "execution address (EIP-55), or one per validator: must be the solo validators' own withdrawal address",
    )
    .option("--fee-recipient <address>", "execution address or one per validator (default: the withdrawal address)")
    .option("--deposit-amounts <eth>", "comma-separated deposit amounts in ETH for the deposit data", "32")
    .option("--compounding", "0x02 (compounding) withdrawal credentials instead of 0x01")
    .option("--name <name>", "cluster name", "split-cluster")
    .option(
      "--slashing-history <file>",
      "EIP-3076 interchange v5 export of the solo validators (only them), copied into every bundle",
    )
    .addOption(
      new Option("--kdf <kdf>", "key derivation of the share keystores")
        .choices(["pbkdf2", "scrypt"])
        .default("pbkdf2"),
    )
    .requiredOption("--out <dir>", "directory to create for the bundles (must not exist)")
    .action(async (flags: CreateClusterFlags) => {
      if (flags.splitExistingKeys !== true) {
        throw new InputError(
          "split-existing-keys",
          '"create cluster" needs --split-existing-keys; for new keys use "cohort definition create" and "cohort dkg"',
        );
      }
      if (flags.keystores === undefined) {
        throw new InputError("keystores", '"keystores" is required with --split-existing-keys');
      }
      const network = networkFromFlags(flags);
      const { createSplitCluster } = await import("../app/split.js");
      const result = await createSplitCluster(
        {
          keystores: flags.keystores,
          operators: splitList(flags.operators),
          threshold:
            flags.threshold === undefined ? undefined : parsePositiveInt(flags.threshold, "--threshold", 10_000),
          network,
          withdrawalAddresses: splitList(flags.withdrawalAddress),
          feeRecipients: flags.feeRecipient === undefined ? undefined : splitList(flags.feeRecipient),
          depositAmountsGwei: splitList(flags.depositAmounts).map((a) => parseEthAmount(a, "deposit-amounts")),
          compounding: flags.compounding ?? false,
          name: flags.name,
          slashingHistory: flags.slashingHistory,
          out: flags.out,
          kdf: flags.kdf,
        },
        (line) => console.error(`split │ ${line}`),
      );
      for (const w of result.warnings) console.error(`warning: ${w}`);
      const def = result.definition;
      console.log(
        `split ${result.validators.length} validator key(s) into ${def.operators.length} shares, threshold ${def.threshold}, on ${def.network.name}`,
      );
      for (const v of result.validators) console.log(`  ${v.publicKey}  ${v.source}`);
      if (result.history !== undefined) {
        console.log(
          `slashing history: ${result.history.validators} validator(s), ${result.history.blocks} block(s), ` +
            `${result.history.attestations} attestation(s) in every bundle`,
        );
      }
      console.log(`config_hash: ${toHex(def.configHash)}`);
      for (const [i, b] of result.bundles.entries()) console.log(`  ${def.operators[i]!.peerId}  ${b}`);
      console.log('next: give each operator its bundle; each runs "cohort split import --bundle DIR --data-dir D"');
      console.error(
        "warning: this machine held the whole validator keys. Stop the solo validator before the cluster signs, " +
          "give each bundle only to its operator, delete the bundles here, and delete the source keystores once " +
          "the cluster runs.",
      );
    });

  const split = program
    .command("split")
    .description('Join a cluster made by "cohort create cluster --split-existing-keys": import, sign, assemble')
    .exitOverride();

  split
    .command("import")
    .description(
      "Import this operator's bundle: check it is for this identity and each share against the draft's public " +
        "share, import the slashing history into slashing-protection.sqlite first, then write validator_keys/, " +
        "split-draft.json and cluster-definition.json signed with this identity",
    )
    .requiredOption("--bundle <dir>", "this operator's bundle directory from the dealer")
    .option("--data-dir <dir>", "data directory holding identity.key", DEFAULT_DATA_DIR)
    .option(
      "--definition <file>",
      "the definition as other operators already signed it, to add this approval to (default: the bundle's)",
    )
    .action(async (opts: { bundle: string; dataDir: string; definition?: string }) => {
      const { importBundle } = await import("../app/split.js");
      const r = await importBundle(opts);
      console.log(`imported share ${r.shareIndex} of ${r.validators} validator(s) for ${r.peerId}`);
      if (r.history === undefined) {
        console.error("warning: the bundle has no slashing history: this node's slashing database starts empty");
      } else {
        console.log(
          `slashing history imported: ${r.history.validators} validator(s), ${r.history.blocks} block(s), ${r.history.attestations} attestation(s)`,
        );
      }
      console.log(`signed ${r.definitionFile}: ${r.signed} of ${r.operators} operators have signed`);
      console.log(
        r.signed < r.operators
          ? `next: pass ${r.definitionFile} on; the next operator runs "cohort split import --definition FILE" ` +
              `(or "cohort definition sign --definition FILE") until all have signed, then every operator runs ` +
              `"cohort split sign-lock --definition FILE"`
          : `next: give ${r.definitionFile} to every operator; each runs "cohort split sign-lock --definition FILE"`,
      );
      console.log("delete the bundle once the lock is assembled");
    });

  split
    .command("sign-lock")
    .description(
      "Sign the lock of the fully signed definition and the draft: lock_hash with the identity key and with this " +
        "node's shares; writes lock-signature-<share index>.json into the data dir for the other operators",
    )
    .option("--data-dir <dir>", "data directory of a split import", DEFAULT_DATA_DIR)
    .requiredOption("--definition <file>", "the definition every operator has signed")
    .action(async (opts: { dataDir: string; definition: string }) => {
      const { signSplitLock } = await import("../app/split.js");
      const r = await signSplitLock(opts);
      console.log(`lock_hash: ${r.lockHash}`);
      console.log(`wrote ${r.file} (share ${r.shareIndex})`);
      console.log('next: exchange the lock-signature files; each operator runs "cohort split assemble --signatures …"');
    });

  split
    .command("assemble")
    .description(
      "With every operator's lock-signature file, build the lock, verify it in full, and write cluster-lock.json " +
        "and the deposit-data files into the data dir",
    )
    .option("--data-dir <dir>", "data directory after split sign-lock", DEFAULT_DATA_DIR)
    .requiredOption("--signatures <files...>", "every operator's lock-signature-<i>.json (this node's too)")
    .action(async (opts: { dataDir: string; signatures: string[] }) => {
      const { assembleSplitLock } = await import("../app/split.js");
      const r = await assembleSplitLock(opts);
      console.log(`lock ok: ${r.lockHash}`);
      for (const f of r.written) console.log(`wrote ${f}`);
      for (const pk of r.validators) console.log(pk);
      console.log('next: every operator checks an identical lock with "cohort lock verify", then "cohort run"');
    });
}
