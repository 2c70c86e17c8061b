/** Builds the commander program: one register function per command group. */
import { Command } from "commander";
import { registerIdentity } from "./identity.js";

/** The full cohort CLI. */
export function buildProgram(): Command {
  const program = new Command("cohort")
    .description(
      "Distributed-validator key management: threshold BLS DKG over libp2p and a Web3Signer-compatible signer",
    )
    .version("0.1.0")
    .showHelpAfterError(false);
  registerIdentity(program);
  return program;
}
