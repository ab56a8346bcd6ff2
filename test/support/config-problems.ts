import { ConfigError, parseConfig } from '../../src/config/load.js';

/** The problems a config text is refused with (file name test.yaml), or [] when it loads. */
export function configProblems(text: string): string[] {
  try {
    parseConfig(text, 'test.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}
