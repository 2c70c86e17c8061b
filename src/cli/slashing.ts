/** `cohort slashing import|export`: EIP-3076 interchange v5 in and out of a stopped node's slashing database. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { type Command, Option } from "commander";
import { fromHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import { exists, writeFileAtomic } from "../lib/fs.js";
import { acquireDataDirLock } from "../lib/lockfile.js";
import type { Interchange, InterchangeFormat } from "../slashing/interchange.js";
import { SlashingError } from "../slashing/rules.js";
import { DEFAULT_DATA_DIR } from "./identity.js";

interface ImportOpts {
  dataDir: string;
  file: string;
}

interface ExportOpts {
  dataDir: string;
  file: string;
  pubkeys?: string;
  format: InterchangeFormat;
}

/** Registers `slashing import` and `slashing export`. */
export function registerSlashing(program: Command): void {
  const slashing = program
    .command("slashing")
    .description("Slashing protection database: EIP-3076 interchange v5 import and export, while the node is stopped");

  slashing
    .command("import")
    .description(
      "Merge an EIP-3076 interchange v5 file into the data directory's slashing protection database, in one " +
        "transaction: a bad file or a different genesis_validators_root changes nothing",
    )
    .option("--data-dir <dir>", "data directory", DEFAULT_DATA_DIR)
    .requiredOption("--file <file>", "interchange JSON file to import")
    .action(async (opts: ImportOpts) => {
      const { importInterchange, parseInterchangeText } = await loadSlashing();
      const interchange = parseFile(opts.file, await readInput(opts.file, "file"), parseInterchangeText);
      const { SlashingProtectionDb } = await import("../slashing/store.js");
      const lock = await acquireDataDirLock(opts.dataDir, "cohort slashing import");
      try {
        const store = new SlashingProtectionDb({ dataDir: opts.dataDir });
        try {
          const s = importInterchange(store, interchange);
          console.log(
            `imported ${s.validators} validator(s) into ${store.file}: ${s.newBlocks} of ${s.blocks} block(s) and ` +
              `${s.newAttestations} of ${s.attestations} attestation(s) were new`,
          );
        } finally {
          store.close();
        }
      } catch (err) {
        throw asInputError(err, opts.file);
      } finally {
        await lock.release();
      }
    });

  slashing
    .command("export")
    .description("Write the data directory's slashing protection history as an EIP-3076 interchange v5 file (0600)")
    .option("--data-dir <dir>", "data directory", DEFAULT_DATA_DIR)
    .requiredOption("--file <file>", "interchange JSON file to write (replaced atomically)")
    .option("--pubkeys <keys>", "comma-separated 0x-hex validator public keys to export (default: all)")
    .addOption(
      new Option("--format <format>", "complete: every record; minimal: highest slot and epochs per validator")
        .choices(["minimal", "complete"])
        .default("complete"),
    )
    .action(async (opts: ExportOpts) => {
      const pubkeys = opts.pubkeys === undefined ? undefined : parsePubkeys(opts.pubkeys);
      const { exportInterchange, serializeInterchange } = await loadSlashing();
      const { SLASHING_DB_FILE, SlashingProtectionDb } = await import("../slashing/store.js");
      if (!(await exists(path.join(opts.dataDir, SLASHING_DB_FILE)))) {
        throw new InputError("data-dir", `--data-dir ${opts.dataDir} has no ${SLASHING_DB_FILE}: nothing to export`);
      }
      if (!(await exists(path.dirname(path.resolve(opts.file))))) {
        throw new InputError("file", `--file ${opts.file}: directory ${path.dirname(opts.file)} does not exist`);
      }
      const lock = await acquireDataDirLock(opts.dataDir, "cohort slashing export");
      try {
        const store = new SlashingProtectionDb({ dataDir: opts.dataDir });
        let text: string;
        let count: number;
        try {
          const doc = exportInterchange(store, { format: opts.format, ...(pubkeys ? { pubkeys } : {}) });
          text = serializeInterchange(doc);
          count = doc.data.length;
        } finally {
          store.close();
        }
        await writeFileAtomic(opts.file, text);
        console.log(`exported ${count} validator(s), ${opts.format}, to ${opts.file}`);
      } finally {
        await lock.release();
      }
    });
}

async function readInput(file: string, field: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new InputError(field, `--${field} ${file}: cannot read it (${code})`, { cause: err });
  }
}

/** Loaded on use, so that `--help` and other commands do not load zod and SQLite. */
function loadSlashing() {
  return import("../slashing/interchange.js");
}

/** Parses and validates interchange text; nothing is written when it is bad. */
function parseFile(file: string, text: string, parse: (text: string) => Interchange): Interchange {
  try {
    return parse(text);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw new InputError("file", `--file ${file}: ${err.message}; nothing was imported`, { cause: err });
  }
}

function parsePubkeys(list: string): Uint8Array[] {
  const keys = list
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (keys.length === 0) throw new InputError("pubkeys", "--pubkeys: give at least one 0x-hex public key");
  return keys.map((k) => {
    try {
      return fromHex(k, "pubkeys", 48);
    } catch (err) {
      throw new InputError("pubkeys", `--pubkeys: "${k}" is not a 48-byte 0x-hex public key`, { cause: err });
    }
  });
}

/** Reports a wrong genesis validators root as bad input naming --file; other errors pass through. */
function asInputError(err: unknown, file: string): unknown {
  if (err instanceof SlashingError && err.type.code === "WRONG_GENESIS_VALIDATORS_ROOT") {
    return new InputError("file", `--file ${file}: ${err.message}; nothing was imported`, { cause: err });
  }
  return err;
}
