import { defineConfig } from "vitest/config";

// Browser flows: playwright-core drives the system Chromium against a static
// server of dist/ that sends the app's real CSP. See e2e/README in docs/UI.md.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    globalSetup: ["e2e/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
