/** `cohort identity create`: makes the operator's libp2p identity key. */
import type { Command } from "commander";

export const DEFAULT_DATA_DIR = "./.cohort";

/** Registers `identity create`. */
export function registerIdentity(program: Command): void {
  const identity = program.command("identity").description("Manage this operator's libp2p identity key");
  identity
    .command("create")
    .description("Create identity.key (secp256k1, mode 0600) in the data directory and print the peer ID")
    .option("--data-dir <dir>", "data directory", DEFAULT_DATA_DIR)
    .action(async (opts: { dataDir: string }) => {
      const { createIdentity } = await import("../p2p/identity.js");
      const id = await createIdentity(opts.dataDir);
      console.log(id.peerId);
    });
}
