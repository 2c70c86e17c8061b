import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // 2-core machine: slow multi-process suites run one file at a time per worker.
    maxWorkers: 2,
    reporters: ["default", "json"],
    outputFile: { json: "test-results.json" },
  },
});
