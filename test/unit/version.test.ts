import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { CRI_MUX_VERSION } from '../../src/version.js';

it('reports the version package.json declares', () => {
  expect(CRI_MUX_VERSION).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
});
