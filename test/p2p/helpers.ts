/** Test helpers for the p2p layer: identities in temp dirs, free loopback ports. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ShareIndex } from "../../src/lib/types.js";
import { createIdentity, type Identity } from "../../src/p2p/identity.js";

const dirs: string[] = [];

/** A fresh operator identity, stored in a temp dir removed by {@link cleanupIdentities}. */
export async function newIdentity(): Promise<Identity> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "cohort-p2p-"));
  dirs.push(dir);
  return await createIdentity(path.join(dir, "data"));
}

export async function cleanupIdentities(): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

export { freePort } from "../../src/lib/ports.js";

export const tcpAddr = (port: number): string => `/ip4/127.0.0.1/tcp/${port}`;

/** A deterministic 32-byte session filled with `fill`. */
export const sessionOf = (fill: number): Uint8Array => new Uint8Array(32).fill(fill);

export const idx = (i: number): ShareIndex => i as ShareIndex;
