/**
 * `vitest run` runs all four tiers. Unit, core and integration files run in
 * parallel (core: the dispatcher with recording ports, tests/core/harness.ts);
 * e2e files share one real Synapse (tests/support/global-setup.ts) and run
 * one file at a time to keep a small machine calm. Files under
 * tests/e2e/slow/ start a private Synapse of their own and mostly wait (for
 * a homeserver's real rate limits to lift): their own project, so they wait
 * beside the other tiers instead of after them.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["tests/unit/**/*.test.ts"] },
      },
      {
        extends: true,
        test: { name: "core", include: ["tests/core/**/*.test.ts"] },
      },
      {
        extends: true,
        test: { name: "integration", include: ["tests/integration/**/*.test.ts"], testTimeout: 20_000 },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["tests/e2e/**/*.test.ts"],
          exclude: ["tests/e2e/slow/**"],
          globalSetup: ["tests/support/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: { name: "e2e-slow", include: ["tests/e2e/slow/**/*.test.ts"], testTimeout: 600_000, hookTimeout: 120_000 },
      },
    ],
  },
});
