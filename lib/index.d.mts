// Types for the ES module entry (dist/index.mjs): the same as the CommonJS entry.
export * from './index.js';
import * as litevault from './index.js';
export default litevault;
