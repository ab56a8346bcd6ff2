// The command line as an operator meets it: check-config and explain (serve is covered by e2e).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const MAIN = path.resolve('dist/src/main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'cri-mux-cli-'));
const config = path.join(dir, 'c.yaml');
writeFileSync(config, `backends:
  - { name: a, endpoint: "unix:///run/a.sock", default: true }
  - { name: vm, endpoint: "unix:///run/vm.sock" }
routing:
  rules:
    - { name: secure, match: { namespace: "secure-*" }, backend: vm, handler: "" }
`);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe.skipIf(!(await import('node:fs')).existsSync(MAIN))('cri-mux CLI (built)', () => {
  it('explains a crictl pod config in JSON or YAML, and warns about keys a pod does not have', async () => {
    const json = path.join(dir, 'pod.json');
    writeFileSync(json, JSON.stringify({ metadata: { name: 'p', namespace: 'secure-apps' } }));
    expect((await cli('explain', '--config', config, '--pod', json)).stdout).toBe('backend: vm\nreason: rule (secure)\nruntime_handler sent: ""\n');
    const yaml = path.join(dir, 'pod.yaml');
    writeFileSync(yaml, 'metdata:\n  namespace: secure-apps\n');
    const r = await cli('explain', '--config', config, '--pod', yaml);
    expect(r.stdout).toMatch(/^backend: a\nreason: default/);
    expect(r.stderr).toMatch(/ignoring keys a PodSandboxConfig does not have: metdata/);
  });

  it('says what is missing or broken, naming the file, with exit code 2', async () => {
    const noPod = await cli('explain', '--config', config);
    expect(noPod.code).toBe(2);
    expect(noPod.stderr).toBe('cri-mux: explain needs --pod POD (a PodSandboxConfig as crictl reads it, JSON or YAML)\n');
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{ "metadata": ');
    const broken = await cli('explain', '--config', config, '--pod', bad);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(new RegExp(`--pod ${bad.replace(/[.]/g, '\\.')}: `));
    expect((await cli('serve')).stderr).toBe('cri-mux: --config FILE is required\n');
    expect((await cli('frobnicate')).code).toBe(2);
  });

  it('check-config prints what the config means, or every problem with file:line', async () => {
    const ok = await cli('check-config', config);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/may choose: a\)/);
    const broken = path.join(dir, 'broken.yaml');
    writeFileSync(broken, 'backends:\n  - { name: a, endpoint: "/run/a.sock", default: true }\n');
    const r = await cli('check-config', broken);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${broken}:2: backends.0.endpoint: must be unix://`);
  });
});
