/** The exclusive data-dir lock: one holder at a time, a clear refusal naming the holder, stale-lock takeover. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/lib/errors.js";
import { acquireDataDirLock, LOCK_FILE } from "../../src/lib/lockfile.js";

const root = mkdtempSync(path.join(os.tmpdir(), "cohort-lock-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => path.join(root, `d${n++}`);

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", "0"]).pid as number;
}

describe("acquireDataDirLock", () => {
  it("creates the data dir and a 0600 lock naming this process, and removes it on release", async () => {
    const dir = newDir();
    const lock = await acquireDataDirLock(dir, "cohort test");
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(lock.file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(lock.file, "utf8"))).toMatchObject({ pid: process.pid, purpose: "cohort test" });
    await lock.release();
    await lock.release();
    expect(existsSync(lock.file)).toBe(false);
    await (await acquireDataDirLock(dir, "again")).release();
  });

  it("refuses a second holder with an InputError naming data-dir, the holder's purpose and pid", async () => {
    const dir = newDir();
    const lock = await acquireDataDirLock(dir, "cohort run");
    try {
      await acquireDataDirLock(dir, "cohort slashing import");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).type.field).toBe("data-dir");
      expect((err as Error).message).toContain(`in use by cohort run (pid ${process.pid}`);
    } finally {
      await lock.release();
    }
  });

  it("lets exactly one of many simultaneous callers win", async () => {
    const dir = newDir();
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => acquireDataDirLock(dir, `c${i}`)));
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(InputError);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });

  it("takes over a lock left by a dead process", async () => {
    const dir = newDir();
    await (await acquireDataDirLock(dir, "first")).release();
    const file = path.join(dir, LOCK_FILE);
    const pid = deadPid();
    writeFileSync(
      file,
      JSON.stringify({ pid, hostname: os.hostname(), purpose: "crashed", started_at: "", nonce: "n" }),
    );
    const lock = await acquireDataDirLock(dir, "second");
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ pid: process.pid, purpose: "second" });
    await lock.release();
  });

  it("never removes a lock it no longer holds", async () => {
    const dir = newDir();
    const lock = await acquireDataDirLock(dir, "first");
    const other = JSON.stringify({
      pid: process.pid,
      hostname: os.hostname(),
      purpose: "other",
      started_at: "",
      nonce: "z",
    });
    writeFileSync(lock.file, other);
    await lock.release();
    expect(readFileSync(lock.file, "utf8")).toBe(other);
  });

  it("refuses an unreadable lock file instead of guessing", async () => {
    const dir = newDir();
    await (await acquireDataDirLock(dir, "first")).release();
    writeFileSync(path.join(dir, LOCK_FILE), "garbage");
    await expect(acquireDataDirLock(dir, "second")).rejects.toThrow(/not a readable cohort lock/);
  });
});
