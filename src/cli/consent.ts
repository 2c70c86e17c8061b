/**
 * `cohort exit sign` and `cohort deposit sign`: this operator's consent to a voluntary exit or a
 * deposit, given to its running node through the data dir's admin socket. The cluster signs once
 * t operators consented to the same message (DESIGN.md § Security model, Consent).
 */
import path from "node:path";
import type { Command } from "commander";
import { FILES } from "../app/files.js";
import { InputError } from "../lib/errors.js";
import { DEFAULT_DATA_DIR } from "./identity.js";
import { EXIT, ExitError } from "./run.js";

/** Exit code when this operator's consent is recorded but fewer than t operators consented yet. */
export const EXIT_AWAITING_CONSENT = 4;

const HEX48 = /^0x[0-9a-fA-F]{96}$/;

async function lockOf(dataDir: string) {
  const { readLockFile } = await import("../cluster/lock.js");
  return readLockFile(path.join(dataDir, FILES.lock));
}

function checkValidator(value: string, keys: string[]): string {
  if (!HEX48.test(value))
    throw new InputError("--validator", `--validator must be a 0x-hex 48-byte public key, got "${value}"`);
  const pk = value.toLowerCase();
  if (!keys.includes(pk))
    throw new InputError("--validator", `--validator ${pk} is not a validator of this cluster's lock`);
  return pk;
}

function decimal(value: string, flag: string): string {
  if (!/^\d{1,15}$/.test(value)) throw new InputError(flag, `${flag} must be a decimal number, got "${value}"`);
  return String(Number(value));
}

async function report(res: { status: number; json: Record<string, unknown> }, what: string): Promise<void> {
  if (res.status === 200) {
    console.log(JSON.stringify(res.json, null, 2));
    return;
  }
  const needed = res.json.consent_needed;
  if (res.status === 503 && typeof needed === "number") {
    throw new ExitError(
      EXIT_AWAITING_CONSENT,
      `consent to this ${what} recorded; at least ${needed} more operator(s) must run the same command before the cluster signs it`,
    );
  }
  throw new ExitError(
    res.status === 400 || res.status === 404 ? EXIT.BAD_INPUT : EXIT.FAILURE,
    `node answered ${res.status}: ${String(res.json.error)}`,
  );
}

/** Registers `exit sign|export|broadcast` and `deposit sign`. */
export function registerConsent(program: Command): void {
  const exit = program.command("exit").description("Voluntary exits of the cluster's validators").exitOverride();
  exit
    .command("sign")
    .description(
      "Consent to a voluntary exit and have the running node sign it once t operators consented to the same exit. " +
        `Prints the SignedVoluntaryExit (beacon API JSON); exit ${EXIT_AWAITING_CONSENT} while more operators must consent`,
    )
    .option("--data-dir <dir>", "data directory of this operator's running node", DEFAULT_DATA_DIR)
    .requiredOption("--validator <pubkey>", "the validator's public key (0x, 48 bytes)")
    .requiredOption("--validator-index <n>", "the validator's index on the beacon chain")
    .option("--epoch <n>", "exit epoch (default: the network's Capella fork epoch, valid forever under EIP-7044)")
    .action(async (flags: { dataDir: string; validator: string; validatorIndex: string; epoch?: string }) => {
      const lock = await lockOf(flags.dataDir);
      const { toHex } = await import("../lib/bytes.js");
      const pk = checkValidator(
        flags.validator,
        lock.distributedValidators.map((dv) => toHex(dv.publicKey)),
      );
      const index = decimal(flags.validatorIndex, "--validator-index");
      let epoch = flags.epoch === undefined ? undefined : decimal(flags.epoch, "--epoch");
      if (epoch === undefined) {
        const { definitionNetwork } = await import("../cluster/definition.js");
        const name = lock.definition.network.name;
        const capella = definitionNetwork(lock.definition).capellaForkEpoch;
        if (capella === undefined)
          throw new InputError("--epoch", `network ${name} has no known Capella fork epoch: give --epoch`);
        epoch = String(capella);
      }
      const { adminRequest } = await import("../api/admin.js");
      const res = await adminRequest(flags.dataDir, "/cohort/v1/consent/exit", {
        public_key: pk,
        validator_index: index,
        epoch,
      });
      await report(res, "exit");
    });

  exit
    .command("export")
    .description(
      "Write every voluntary exit the cluster signed through this node (kept in DATA_DIR/exits/) as " +
        "OUT_DIR/exit-<pubkey>.json, the beacon API's SignedVoluntaryExit JSON (0600), for pool protocols",
    )
    .option("--data-dir <dir>", "data directory of this operator's node (running or not)", DEFAULT_DATA_DIR)
    .requiredOption("--out-dir <dir>", "directory to write the exits into (created 0700)")
    .action(async (flags: { dataDir: string; outDir: string }) => {
      const lock = await lockOf(flags.dataDir);
      const { readSignedExit, storedExits, verifySignedExit } = await import("../app/exits.js");
      const { ensureDir, writeFileAtomic } = await import("../lib/fs.js");
      const keys = await storedExits(flags.dataDir, lock);
      if (keys.length === 0) {
        throw new ExitError(EXIT.FAILURE, `no signed exits in ${flags.dataDir}: run cohort exit sign first`);
      }
      await ensureDir(flags.outDir);
      for (const pk of keys) {
        const signed = await readSignedExit(flags.dataDir, pk);
        if (!verifySignedExit(lock, pk, signed)) {
          throw new ExitError(
            EXIT.FAILURE,
            `the stored exit of ${pk} does not verify under its key; nothing more exported`,
          );
        }
        const file = path.join(flags.outDir, `exit-${pk}.json`);
        await writeFileAtomic(file, `${JSON.stringify(signed, null, 2)}\n`);
        console.log(`${pk}  validator ${signed.message.validator_index}, epoch ${signed.message.epoch}  ${file}`);
      }
    });

  exit
    .command("broadcast")
    .description(
      "Submit the voluntary exit stored for a validator to a beacon node (POST /eth/v1/beacon/pool/voluntary_exits), " +
        "after checking its signature under the validator key",
    )
    .option("--data-dir <dir>", "data directory of this operator's node (running or not)", DEFAULT_DATA_DIR)
    .requiredOption("--validator <pubkey>", "the validator's public key (0x, 48 bytes)")
    .requiredOption("--beacon-node <url>", "the beacon node's REST API, e.g. http://127.0.0.1:5052")
    .action(async (flags: { dataDir: string; validator: string; beaconNode: string }) => {
      const lock = await lockOf(flags.dataDir);
      const { toHex } = await import("../lib/bytes.js");
      const pk = checkValidator(
        flags.validator,
        lock.distributedValidators.map((dv) => toHex(dv.publicKey)),
      );
      const { broadcastExit, readSignedExit, verifySignedExit } = await import("../app/exits.js");
      const signed = await readSignedExit(flags.dataDir, pk);
      if (!verifySignedExit(lock, pk, signed)) {
        throw new ExitError(EXIT.FAILURE, `the stored exit of ${pk} does not verify under its key; not submitted`);
      }
      try {
        await broadcastExit(flags.beaconNode, signed);
      } catch (err) {
        if (err instanceof InputError) throw err;
        throw new ExitError(EXIT.FAILURE, (err as Error).message);
      }
      console.log(
        `submitted the exit of validator ${signed.message.validator_index} (epoch ${signed.message.epoch}) to ${new URL(flags.beaconNode).origin}`,
      );
    });

  const deposit = program.command("deposit").description("Deposits of the cluster's validators").exitOverride();
  deposit
    .command("sign")
    .description(
      "Consent to a deposit that is not in the lock (a top-up or a partial deposit, to the lock's withdrawal " +
        "credentials) and have the running node sign it once " +
        `t operators consented to the same deposit. Prints the deposit data entry; exit ${EXIT_AWAITING_CONSENT} while more operators must consent`,
    )
    .option("--data-dir <dir>", "data directory of this operator's running node", DEFAULT_DATA_DIR)
    .requiredOption("--validator <pubkey>", "the validator's public key (0x, 48 bytes)")
    .requiredOption("--amount <eth>", "amount in ETH, e.g. 1 or 32")
    .action(async (flags: { dataDir: string; validator: string; amount: string }) => {
      const lock = await lockOf(flags.dataDir);
      const { toHex } = await import("../lib/bytes.js");
      const keys = lock.distributedValidators.map((dv) => toHex(dv.publicKey));
      const pk = checkValidator(flags.validator, keys);
      const { parseEthAmount } = await import("../eth2/deposit.js");
      const amountGwei = parseEthAmount(flags.amount, "--amount");
      // always the lock's withdrawal credentials (the node refuses any other)
      const wc = toHex(lock.distributedValidators[keys.indexOf(pk)]!.depositData[0]!.withdrawalCredentials);
      const { adminRequest } = await import("../api/admin.js");
      const res = await adminRequest(flags.dataDir, "/cohort/v1/consent/deposit", {
        public_key: pk,
        withdrawal_credentials: wc.toLowerCase(),
        amount_gwei: String(amountGwei),
      });
      await report(res, "deposit");
    });
}
