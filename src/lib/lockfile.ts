/**
 * Exclusive data-directory lock: `<dataDir>/cohort.lock`, created atomically (write a temporary file, then link it
 * into place, which fails if the lock exists) and holding the owner's pid, so one process at a time uses a data dir.
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DATA_DIR_FILES } from "./datadir.js";
import { InputError } from "./errors.js";
import { ensureDir, FILE_MODE, fsyncDir } from "./fs.js";

/** File name of the lock inside a data directory. */
export const LOCK_FILE = DATA_DIR_FILES.dirLock;

/** A takeover marker older than this is abandoned (its owner died mid-takeover) and may be removed, in ms. */
const STALE_TAKEOVER_MS = 10_000;
/** Bound on retries when the lock changes hands under us. */
const MAX_ATTEMPTS = 50;

/** Contents of the lock file (JSON, snake_case). */
export interface LockInfo {
  pid: number;
  hostname: string;
  purpose: string;
  started_at: string;
  /** Random token telling this holder's lock from a later one with a recycled pid. */
  nonce: string;
}

/** A held data-dir lock. */
export interface DataDirLock {
  /** The lock file's absolute path. */
  readonly file: string;
  /** Removes the lock if this process still holds it; idempotent. */
  release(): Promise<void>;
}

/**
 * Takes the exclusive lock of `dataDir` (created with mode 0700 if missing) for `purpose`, e.g. `"cohort run"`.
 * A lock left by a dead process on this host is detected by its pid and taken over.
 * @param purpose what holds the lock, shown to whoever is refused
 * @throws InputError `"data-dir"` when another live process holds the lock, naming its pid and purpose
 */
export async function acquireDataDirLock(
  dataDir: string,
  purpose: string,
  opts: { signal?: AbortSignal } = {},
): Promise<DataDirLock> {
  await ensureDir(dataDir);
  const file = path.resolve(dataDir, LOCK_FILE);
  const info: LockInfo = {
    pid: process.pid,
    hostname: os.hostname(),
    purpose,
    started_at: new Date().toISOString(),
    nonce: randomBytes(8).toString("hex"),
  };
  const body = `${JSON.stringify(info)}\n`;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    opts.signal?.throwIfAborted();
    if (await tryCreate(file, body)) {
      await fsyncDir(path.dirname(file));
      return lockHandle(file, info.nonce);
    }
    const raw = await readIfExists(file);
    if (raw === null) continue; // released meanwhile
    const holder = parseLock(raw);
    if (holder === null) {
      // cohort writes its lock atomically, so an unreadable one is not a lock being written: leave it to a human.
      throw new InputError(
        "data-dir",
        `data-dir ${path.dirname(file)}: ${file} is not a readable cohort lock; remove it if no cohort process uses this data dir`,
      );
    }
    if (holder.hostname === os.hostname() && !isAlive(holder.pid)) {
      await takeOverStale(file, raw);
      continue;
    }
    throw new InputError(
      "data-dir",
      `data-dir ${path.dirname(file)} is in use by ${holder.purpose} (pid ${holder.pid} on ${holder.hostname}, ` +
        `since ${holder.started_at}); stop it first, or remove ${file} if that process is gone`,
    );
  }
  throw new InputError("data-dir", `data-dir ${path.dirname(file)}: could not take ${file}, it keeps changing hands`);
}

/** Atomically creates `file` with `body`; false when it exists. */
async function tryCreate(file: string, body: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const fh = await fsp.open(tmp, "wx", FILE_MODE);
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.link(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      throw new InputError("data-dir", `data-dir ${path.dirname(file)} is not writable (${code})`, { cause: err });
    }
    throw new Error(`create lock ${file}`, { cause: err });
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

/**
 * Removes a stale lock whose contents are still `staleBody`, under a `.takeover` marker so that two processes
 * cannot both remove it and one of them delete the other's fresh lock.
 */
async function takeOverStale(file: string, staleBody: string): Promise<void> {
  const marker = `${file}.takeover`;
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(marker, "wx", FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`create ${marker}`, { cause: err });
    if ((await ageMs(marker)) > STALE_TAKEOVER_MS) await fsp.rm(marker, { force: true });
    else await sleep(20);
    return;
  }
  try {
    await fh.close();
    if ((await readIfExists(file)) === staleBody) await fsp.rm(file, { force: true });
  } finally {
    await fsp.rm(marker, { force: true });
  }
}

function lockHandle(file: string, nonce: string): DataDirLock {
  let released = false;
  return {
    file,
    async release() {
      if (released) return;
      released = true;
      const raw = await readIfExists(file);
      if (raw !== null && parseLock(raw)?.nonce === nonce) await fsp.rm(file, { force: true });
    },
  };
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Error(`read lock ${file}`, { cause: err });
  }
}

/** Milliseconds since `file` was last modified; 0 when it is gone (the caller then retries). */
async function ageMs(file: string): Promise<number> {
  try {
    return Date.now() - (await fsp.stat(file)).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw new Error(`stat ${file}`, { cause: err });
  }
}

function parseLock(raw: string): LockInfo | null {
  try {
    const v = JSON.parse(raw) as Partial<LockInfo>;
    if (typeof v.pid !== "number" || !Number.isInteger(v.pid) || v.pid <= 0) return null;
    return {
      pid: v.pid,
      hostname: typeof v.hostname === "string" ? v.hostname : "unknown host",
      purpose: typeof v.purpose === "string" ? v.purpose : "another process",
      started_at: typeof v.started_at === "string" ? v.started_at : "unknown time",
      nonce: typeof v.nonce === "string" ? v.nonce : "",
    };
  } catch {
    return null;
  }
}

/** True when a process with `pid` exists (EPERM means it exists but belongs to someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
