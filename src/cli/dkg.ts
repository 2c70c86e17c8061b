/** `cohort dkg`: run this operator's side of the distributed key generation. */
import path from "node:path";
import type { Command } from "commander";
import { DEFAULT_DKG_TIMEOUT_MS, FILES } from "../app/files.js";
import { parseDuration, parseLogLevel } from "../app/options.js";
import type { CeremonyProgress } from "../dkg/ceremony.js";
import { toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import { exists } from "../lib/fs.js";
import { createLogger } from "../lib/logger.js";
import { DEFAULT_DATA_DIR } from "./identity.js";
import { EXIT, ExitError } from "./run.js";

interface DkgFlags {
  dataDir: string;
  definition?: string;
  p2pAddress?: string;
  timeout: string;
  kdf: string;
  logLevel: string;
}

/** Prints one progress line per event to stderr; waiting lines at most every 5 s per step. */
export function progressPrinter(prefix = ""): (ev: CeremonyProgress) => void {
  let lastWaiting = "";
  let lastAt = 0;
  return (ev) => {
    if (ev.kind === "step") {
      console.error(`${prefix}[${ev.name}] ${ev.detail}`);
      return;
    }
    const key = `${ev.step}:${ev.missing.join(",")}`;
    const now = Date.now();
    if (ev.missing.length === 0 || (key === lastWaiting && now - lastAt < 5000)) return;
    lastWaiting = key;
    lastAt = now;
    console.error(`${prefix}[wait] step ${ev.step}: waiting for operator(s) ${ev.missing.join(", ")}`);
  };
}

/**
 * The flags every ceremony command shares, checked: --timeout, --log-level, --kdf, and a data dir
 * that holds an identity. @returns the timeout, the keystore KDF and the logger writing <data-dir>/dkg.log
 * @throws InputError naming the flag
 */
export async function ceremonyFlags(flags: Pick<DkgFlags, "dataDir" | "timeout" | "kdf" | "logLevel">) {
  const timeoutMs = parseDuration(flags.timeout, "--timeout");
  const logLevel = parseLogLevel(flags.logLevel, "--log-level");
  if (flags.kdf !== "pbkdf2" && flags.kdf !== "scrypt")
    throw new InputError("--kdf", `--kdf must be pbkdf2 or scrypt, got "${flags.kdf}"`);
  if (!(await exists(path.join(flags.dataDir, FILES.identity)))) {
    throw new InputError(
      "--data-dir",
      `${flags.dataDir} holds no ${FILES.identity} (run "cohort identity create --data-dir ${flags.dataDir}")`,
    );
  }
  const kdf: "pbkdf2" | "scrypt" = flags.kdf;
  return {
    timeoutMs,
    kdf,
    logger: createLogger({ level: logLevel, destination: path.join(flags.dataDir, FILES.dkgLog) }),
  };
}

/** Registers `dkg`. */
export function registerDkg(program: Command): void {
  program
    .command("dkg")
    .description("Run the distributed key generation with the other operators of a signed cluster definition")
    .option("--data-dir <dir>", "data directory holding identity.key", DEFAULT_DATA_DIR)
    .option("--definition <file>", `signed cluster definition (default: <data-dir>/${FILES.definition})`)
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
    .option("--log-level <level>", "JSON log level for <data-dir>/dkg.log", "info")
    .action(async (flags: DkgFlags) => {
      const { timeoutMs, kdf, logger } = await ceremonyFlags(flags);
      // loaded on use: libp2p, blst and mcl take a second to load
      const { runDkg } = await import("../app/dkg.js");
      const { DkgError } = await import("../dkg/errors.js");
      const started = Date.now();
      try {
        const out = await runDkg(
          {
            dataDir: flags.dataDir,
            definitionFile: flags.definition ?? path.join(flags.dataDir, FILES.definition),
            p2pAddress: flags.p2pAddress,
            timeoutMs,
            kdf,
            onProgress: progressPrinter(),
          },
          { logger },
        );
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        console.log(`lock_hash ${toHex(out.lock.lockHash)} (operator ${out.self}, ${secs}s)`);
        for (const v of out.lock.distributedValidators) console.log(`validator ${toHex(v.publicKey)}`);
        console.log(`wrote ${out.written.length} files in ${flags.dataDir}`);
        if (out.unconfirmed.length > 0) {
          const who = out.unconfirmed.map((u) => `${u.index} (${u.peerId})`).join(", ");
          throw new ExitError(
            EXIT.UNCONFIRMED,
            `artifacts written, but operator(s) ${who} did not confirm: do not deposit until every operator has run "cohort lock verify" on an identical lock`,
          );
        }
      } catch (err) {
        if (err instanceof DkgError) {
          throw new ExitError(EXIT.FAILURE, `${err.message} (see ${path.join(flags.dataDir, FILES.failure)})`);
        }
        throw err;
      }
    });
}
