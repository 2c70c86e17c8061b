/** Shared helpers for the slashing-protection tests: temporary data dirs, deterministic keys and roots, paths. */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { BlsPublicKey, Root } from "../../src/lib/types.js";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The repository root. */
export const REPO_ROOT = path.resolve(here, "../..");

/** The EIP-3076 conformance vectors, in the `shared/` checkout beside the repository. */
export const EIP3076_VECTORS_DIR = path.resolve(here, "../../../shared/vectors/eip3076");

/** Fixture scripts (plain .mjs, run by node in child processes). */
export const FIXTURES_DIR = path.join(here, "fixtures");

/** The compiled slashing store that fixtures import; built by `npm run build`. */
export const DIST_STORE = path.join(REPO_ROOT, "dist/src/slashing/store.js");

/** The compiled CLI entry point. */
export const DIST_CLI = path.join(REPO_ROOT, "dist/src/cli/main.js");

/** Throws a clear message when the compiled output the child processes need is missing. */
export function requireBuilt(file: string): void {
  if (!existsSync(file)) throw new Error(`${path.relative(REPO_ROOT, file)} is missing: run \`npm run build\` first`);
}

/** A fresh temporary directory and its cleanup. */
export function tempDir(prefix = "cohort-slashing-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A deterministic 48-byte test public key (not a curve point; the store treats keys as opaque bytes). */
export function testPubkey(i: number): BlsPublicKey {
  const out = new Uint8Array(48);
  out[0] = 0xa0;
  new DataView(out.buffer).setUint32(44, i);
  return out as BlsPublicKey;
}

/** A deterministic 32-byte signing root from a seed. */
export function testRoot(seed: number): Root {
  const out = new Uint8Array(32);
  out[0] = 0x01;
  new DataView(out.buffer).setUint32(28, seed);
  return out as Root;
}

/** The zero genesis validators root used by the EIP-3076 vectors. */
export const ZERO_ROOT = new Uint8Array(32) as Root;
