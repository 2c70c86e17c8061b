/** `cohort combine`: each validator's whole key from t operators' shares, for emergencies. */
import { type Command, Option } from "commander";
import type { KdfName } from "../crypto/keystore.js";

interface CombineFlags {
  dataDir: string[];
  out: string;
  kdf: KdfName;
  allowMissingHistory?: boolean;
}

/** Registers `combine`. */
export function registerCombine(program: Command): void {
  program
    .command("combine")
    .description(
      "Emergency only: combine t operators' shares into each validator's whole key (one EIP-2335 keystore per " +
        "validator, checked against the lock) plus the operators' merged EIP-3076 history. Their nodes must be stopped",
    )
    .requiredOption(
      "--data-dir <dirs...>",
      "data directories of at least t different operators of one lock (repeat the flag or list them); a directory holding only an operator's cluster-lock.json and validator_keys/ will do",
    )
    .requiredOption("--out <dir>", "directory to create for the keystores, their password files and the history")
    .addOption(
      new Option("--kdf <kdf>", "key derivation of the written keystores")
        .choices(["scrypt", "pbkdf2"])
        .default("scrypt"),
    )
    .option(
      "--allow-missing-history",
      "combine even when fewer than n − t + 1 of the data dirs have a slashing database (the merged history may be incomplete)",
    )
    .action(async (flags: CombineFlags) => {
      const { combine } = await import("../app/combine.js");
      const result = await combine(
        { dataDirs: flags.dataDir, out: flags.out, kdf: flags.kdf, allowMissingHistory: flags.allowMissingHistory },
        (line) => console.error(`combine │ ${line}`),
      );
      console.log(
        `combined ${result.validators.length} validator key(s) of lock ${result.lockHash} from shares ${result.shareIndices.join(", ")} (threshold ${result.threshold})`,
      );
      for (const v of result.validators) console.log(`  ${v.publicKey}  ${v.keystore}`);
      console.log(
        `merged slashing history: ${result.history.validators} validator(s), ${result.history.blocks} block(s), ` +
          `${result.history.attestations} attestation(s) in ${result.interchange}`,
      );
      console.error(
        "warning: these keystores are whole validator keys on one machine. Import the history into the signer " +
          "before its first signature, never run it alongside the cluster (that is a double signature), and " +
          "delete the keystores when done.",
      );
    });
}
