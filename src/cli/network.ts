/** The custom-network flags that `definition create` and `devnet` share (src/app/options.ts `networkFromFlags`). */
import type { Command } from "commander";

/** Adds `--genesis-fork-version`, `--genesis-validators-root`, `--genesis-time`, `--capella-fork-version` and `--capella-fork-epoch`. */
export function addCustomNetworkOptions(cmd: Command): Command {
  return cmd
    .option("--genesis-fork-version <hex>", "custom network (e.g. a local chain): 4-byte genesis fork version, 0x-hex")
    .option(
      "--genesis-validators-root <hex>",
      "custom network: 32-byte genesis validators root, 0x-hex (default zero: any)",
    )
    .option("--genesis-time <unix-seconds>", "custom network: genesis time, unix seconds, or now")
    .option("--capella-fork-version <hex>", "custom network: 4-byte Capella fork version, 0x-hex (exits sign with it)")
    .option("--capella-fork-epoch <epoch>", "custom network: Capella fork epoch (default 0)");
}
