import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { CATALOGUE } from '../../src/errors/catalogue.js';

it('documents every error of the catalogue in the README, and nothing else', () => {
  const readme = readFileSync('README.md', 'utf8');
  const documented = [...readme.matchAll(/^\| (CRIMUX_ERR_[A-Z_]+) \| ([A-Z_]+) \| (.+) \|$/gm)];
  expect(documented.map((m) => m[1]).sort()).toEqual(Object.keys(CATALOGUE).sort());
  for (const [, name, code, what] of documented) {
    const entry = CATALOGUE[name as keyof typeof CATALOGUE];
    expect(status[entry.code], name).toBe(code);
    expect(what, name).toBe(entry.what);
  }
});
