/**
 * `cohort exit sign` and `cohort deposit sign`: this operator's consent to a voluntary exit or a
 * deposit, given to its running node through the data dir's admin socket, or, when no node runs
 * on the data dir, in a short signing ceremony with the other operators (src/app/consentCeremony.ts).
 * The cluster signs once t operators consented to the same message (DESIGN.md § Security model,
 * Consent; § Cluster lifecycle, Exits and deposits).
 */
import path from "node:path";
import type { Command } from "commander";
import { FILES } from "../app/files.js";
import { parseDuration, parseGenesisTime, parseLogLevel } from "../app/options.js";
import { InputError } from "../lib/errors.js";
import { DEFAULT_DATA_DIR } from "./identity.js";
import { EXIT, ExitError } from "./run.js";

/** Exit code when this operator's consent is recorded but fewer than t operators consented yet. */
export const EXIT_AWAITING_CONSENT = 4;

/** Default `--timeout` of the short ceremony run when no node runs on the data dir. */
export const DEFAULT_CEREMONY_TIMEOUT = "5m";

/** The flags of the short ceremony, shared by `exit sign` and `deposit sign`. */
interface CeremonyFlags {
  dataDir: string;
  timeout: string;
  p2pAddress?: string;
  genesisTime?: string;
  logLevel: string;
}

function ceremonyOptions(cmd: Command): Command {
  return cmd
    .option(
      "--timeout <duration>",
      "when no node runs on the data dir: how long the short ceremony waits for t operators",
      DEFAULT_CEREMONY_TIMEOUT,
    )
    .option(
      "--p2p-address <multiaddr>",
      "when no node runs on the data dir: the ceremony's libp2p listen address (default: as cohort run's)",
    )
    .option("--genesis-time <unix-seconds>", "genesis time of a custom network in a cohort/v1 lock (as cohort run's)")
    .option("--log-level <level>", "the ceremony's JSON log level (stderr)", "warn");
}

/**
 * Gives this operator's consent: to its running node, or, when none runs on the data dir, in a
 * short ceremony with the other operators that ends once t of them consented, or at --timeout.
 */
async function giveConsent(
  flags: CeremonyFlags,
  route: string,
  body: Record<string, string>,
  what: string,
  command: string,
): Promise<void> {
  const timeoutMs = parseDuration(flags.timeout, "--timeout");
  const logLevel = parseLogLevel(flags.logLevel, "--log-level");
  const genesisTimeSec =
    flags.genesisTime === undefined ? undefined : parseGenesisTime(flags.genesisTime, "--genesis-time");
  const { adminRequest, noNodeRunning } = await import("../api/admin.js");
  try {
    await report(await adminRequest(flags.dataDir, route, body), what);
    return;
  } catch (err) {
    if (!noNodeRunning(err)) throw err;
  }
  console.error(
    `${command}: no node runs on ${flags.dataDir}; signing in a short ceremony with the other operators (up to ${flags.timeout})`,
  );
  const { createLogger } = await import("../lib/logger.js");
  const { runConsentCeremony } = await import("../app/consentCeremony.js");
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const out = await runConsentCeremony(
      {
        dataDir: flags.dataDir,
        route,
        body,
        timeoutMs,
        p2pAddress: flags.p2pAddress,
        genesisTimeSec,
        signal: stop.signal,
      },
      { logger: createLogger({ level: logLevel }), progress: (line) => console.error(`${command}: ${line}`) },
    );
    if (out.ok) {
      console.log(JSON.stringify(out.json, null, 2));
      return;
    }
    if (out.status !== 503) await report({ status: out.status, json: out.json }, what);
    const needed = typeof out.json.consent_needed === "number" ? out.json.consent_needed : undefined;
    const missing =
      out.unreached.length === 0
        ? ""
        : `; never reached: ${out.unreached.map((o) => `operator ${o.index} (${o.peerId})`).join(", ")}`;
    throw new ExitError(
      EXIT_AWAITING_CONSENT,
      `${stop.signal.aborted ? "stopped" : `timed out after ${flags.timeout}`}: consent to this ${what} is recorded, but ` +
        (needed === undefined
          ? "fewer than t operators answered"
          : `at least ${needed} more operator(s) must consent`) +
        ` (they run ${command} at the same time, or on their running nodes)${missing}`,
    );
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

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
  if (res.status === 503) {
    // the consent is recorded before the node signs: peers were missing, not this operator
    throw new ExitError(
      EXIT_AWAITING_CONSENT,
      `consent to this ${what} recorded; the cluster could not sign it yet: ${String(res.json.error)}`,
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
  ceremonyOptions(
    exit
      .command("sign")
      .description(
        "Consent to a voluntary exit and have the cluster sign it once t operators consented to the same exit: " +
          "through this operator's running node, or, when none runs on the data dir, in a short ceremony with the " +
          "other operators (running nodes, or operators running this command at the same time). " +
          `Prints the SignedVoluntaryExit (beacon API JSON) and keeps it in DATA_DIR/exits/; exit ${EXIT_AWAITING_CONSENT} while more operators must consent`,
      )
      .option("--data-dir <dir>", "data directory of this operator's node", DEFAULT_DATA_DIR)
      .requiredOption("--validator <pubkey>", "the validator's public key (0x, 48 bytes)")
      .requiredOption("--validator-index <n>", "the validator's index on the beacon chain")
      .option("--epoch <n>", "exit epoch (default: the network's Capella fork epoch, valid forever under EIP-7044)"),
  ).action(async (flags: CeremonyFlags & { validator: string; validatorIndex: string; epoch?: string }) => {
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
    await giveConsent(
      flags,
      "/cohort/v1/consent/exit",
      { public_key: pk, validator_index: index, epoch },
      "exit",
      "cohort exit sign",
    );
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
  ceremonyOptions(
    deposit
      .command("sign")
      .description(
        "Consent to a deposit that is not in the lock (a top-up or a partial deposit, to the lock's withdrawal " +
          "credentials) and have the cluster sign it once t operators consented to the same deposit: through this " +
          "operator's running node, or, when none runs on the data dir, in a short ceremony with the other operators. " +
          `Prints the deposit data entry; exit ${EXIT_AWAITING_CONSENT} while more operators must consent`,
      )
      .option("--data-dir <dir>", "data directory of this operator's node", DEFAULT_DATA_DIR)
      .requiredOption("--validator <pubkey>", "the validator's public key (0x, 48 bytes)")
      .requiredOption("--amount <eth>", "amount in ETH, e.g. 1 or 32"),
  ).action(async (flags: CeremonyFlags & { validator: string; amount: string }) => {
    const lock = await lockOf(flags.dataDir);
    const { toHex } = await import("../lib/bytes.js");
    const keys = lock.distributedValidators.map((dv) => toHex(dv.publicKey));
    const pk = checkValidator(flags.validator, keys);
    const { parseEthAmount } = await import("../eth2/deposit.js");
    const amountGwei = parseEthAmount(flags.amount, "--amount");
    // always the lock's withdrawal credentials (the node refuses any other)
    const wc = toHex(lock.distributedValidators[keys.indexOf(pk)]!.depositData[0]!.withdrawalCredentials);
    await giveConsent(
      flags,
      "/cohort/v1/consent/deposit",
      { public_key: pk, withdrawal_credentials: wc.toLowerCase(), amount_gwei: String(amountGwei) },
      "deposit",
      "cohort deposit sign",
    );
  });
}
