// Only what the defaults get wrong here: `npm run build` emits compiled copies of the tests
// under dist/, which vitest would otherwise run a second time (and, for e2e, start a second
// set of real runtimes in parallel). The summary reporter adds a plain closing line for CI.
import { configDefaults, defineConfig } from 'vitest/config';
import SummaryReporter from './test/support/summary-reporter.js';

export default defineConfig({
  test: {
    exclude: [...configDefaults.exclude, 'dist/**'],
    reporters: ['default', new SummaryReporter()],
  },
});
