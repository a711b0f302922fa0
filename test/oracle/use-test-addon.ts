/**
 * Side effect only: points LITEVAULT_TEST_ADDON (lib/binding.ts's test-only switch) at the TEST
 * build of the addon, build-test/Release/litevault.node (npm run build:native:test), before
 * anything loads the API. test/oracle/testing-addon.ts imports this first; a test file imports
 * testing-addon (or this) before any import of ../dist.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The test build of the addon: fault injection and sync points compiled in. */
export const TEST_ADDON_PATH: string = fileURLToPath(new URL('../../build-test/Release/litevault.node', import.meta.url));

if (!existsSync(TEST_ADDON_PATH)) {
  throw new Error(`${TEST_ADDON_PATH} is missing: run \`npm run build:native:test\` (npm test does)`);
}
process.env.LITEVAULT_TEST_ADDON = TEST_ADDON_PATH;
// A paused step occupies a threadpool thread and syncPointWait another until it arrives; libuv
// reads this when the pool first starts (vitest.config.ts sets it for every test process).
process.env.UV_THREADPOOL_SIZE ??= '8';
