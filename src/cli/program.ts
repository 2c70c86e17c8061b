/** Builds the commander program: one register function per command group. */
import { Command } from "commander";
import { registerCombine } from "./combine.js";
import { registerConsent } from "./consent.js";
import { registerDefinition } from "./definition.js";
import { registerDevnet } from "./devnet.js";
import { registerDkg } from "./dkg.js";
import { registerIdentity } from "./identity.js";
import { registerLifecycle } from "./lifecycle.js";
import { registerLock } from "./lock.js";
import { registerRun } from "./node.js";
import { registerSlashing } from "./slashing.js";
import { registerSplit } from "./split.js";

/** The full cohort CLI. */
export function buildProgram(): Command {
  const program = new Command("cohort")
    .description(
      "Distributed-validator key management: threshold BLS DKG over libp2p and a Web3Signer-compatible signer",
    )
    .version("0.1.0")
    .showHelpAfterError(false)
    // before any subcommand exists, so each inherits it: usage errors reach runCli (exit 2)
    .exitOverride();
  registerIdentity(program);
  registerDefinition(program);
  registerLock(program);
  registerDkg(program);
  registerDevnet(program);
  registerRun(program);
  registerSlashing(program);
  registerConsent(program);
  registerCombine(program);
  registerLifecycle(program);
  registerSplit(program);
  return program;
}
