/**
 * Worker-thread entry of {@link verifyLockFileInWorker}: reads and verifies one lock file and posts
 * its {@link LockVerification} (or the error that stopped it) to the parent.
 */
import { parentPort, workerData } from "node:worker_threads";
import "../lib/polyfill.js";
import { readLockFile, verifyLock } from "./lock.js";

const { file } = workerData as { file: string };
try {
  const verdict = await verifyLock(await readLockFile(file));
  parentPort!.postMessage({ verdict });
} catch (err) {
  parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) });
}
