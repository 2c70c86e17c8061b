// Deterministic simulation of duty agreement (test/consensus/sim.ts): 200 seeds per n in CI,
// SIM_SEEDS=10000 with `npm run sim`. A failing seed is printed, and SIM_SEED=<seed> replays it.
import { describe, expect, it } from "vitest";
import { simulate } from "./sim.js";

const SEEDS = Number(process.env.SIM_SEEDS ?? 200);
const ONLY = process.env.SIM_SEED === undefined ? undefined : Number(process.env.SIM_SEED);

describe("agreement simulation: safety always, liveness after GST", () => {
  for (const n of [4, 7, 10]) {
    it(`n = ${n}, ${ONLY === undefined ? SEEDS : 1} seeds`, { timeout: 60_000 + SEEDS * 50 }, () => {
      const failures: string[] = [];
      let decided = 0;
      const seeds = ONLY === undefined ? Array.from({ length: SEEDS }, (_, i) => i + 1) : [ONLY];
      for (const seed of seeds) {
        const r = simulate(seed * 1_000 + n, n);
        decided += r.decided;
        for (const s of r.safety) failures.push(`seed ${r.seed} (SIM_SEED=${seed}) n=${n} SAFETY: ${s}`);
        for (const l of r.liveness) failures.push(`seed ${r.seed} (SIM_SEED=${seed}) n=${n} LIVENESS: ${l}`);
      }
      expect(failures.slice(0, 10)).toEqual([]);
      // the runs exercised decisions, not only refusals
      expect(decided).toBeGreaterThan(seeds.length);
    });
  }
});
