import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";

/** Repository root (tests run from src-mirroring folders under test/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** ../shared/vectors beside the repository, as CI lays it out. */
export const VECTORS_DIR = path.resolve(REPO_ROOT, "../shared/vectors");

/** Reads a JSON vector file relative to VECTORS_DIR. */
export function readVectorJson<T = unknown>(rel: string): T {
  return JSON.parse(readFileSync(path.join(VECTORS_DIR, rel), "utf8")) as T;
}

/** Lists `{name, data}` for every `<dir>/<case>/data.yaml` under VECTORS_DIR/rel. */
export function readYamlCases<T = unknown>(rel: string): { name: string; data: T }[] {
  const dir = path.join(VECTORS_DIR, rel);
  return readdirSync(dir)
    .sort()
    .map((name) => ({ name, data: parseYaml(readFileSync(path.join(dir, name, "data.yaml"), "utf8")) as T }));
}

/** 0x-hex → bytes (test-only, no validation). */
export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/^0x/, ""), "hex"));
}
