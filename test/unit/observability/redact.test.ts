// Schema-driven redaction: what the schema marks, bytes, env values and sensitive map keys.
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { CriSchema } from '../../../src/cri/schema.js';
import { REDACTED, redactMessage, scrub } from '../../../src/observability/redact.js';

const schema = new CriSchema();
const opts = { sensitiveKeys: ['*token*', 'secret.example/*'] };

function typeFrom(source: string, name: string): protobuf.Type {
  const root = protobuf.parse(source, { keepCase: true }).root;
  root.resolveAll();
  return root.lookupType(name);
}

describe('redactMessage', () => {
  it('redacts every field the CRI schema marks debug_redact, and keeps the rest', () => {
    const type = schema.type('PullImageRequest');
    const decoded = schema.decode('PullImageRequest', schema.encode('PullImageRequest', {
      image: { image: 'nginx' },
      auth: { username: 'u', password: 'p4ss', auth: 'dXNlcjpwYXNz', server_address: 'r.example', identity_token: 'idtok', registry_token: 'regtok' },
    }));
    const { value, secrets } = redactMessage(type, decoded, opts);
    expect(value).toEqual({
      image: { image: 'nginx' },
      auth: { username: 'u', password: REDACTED, auth: REDACTED, server_address: 'r.example', identity_token: REDACTED, registry_token: REDACTED },
    });
    expect(secrets.map((x) => x.text)).toEqual(expect.arrayContaining(['p4ss', 'dXNlcjpwYXNz', 'idtok', 'regtok']));
  });

  it('redacts a field newly marked debug_redact without a code change (scalar and whole message)', () => {
    const type = typeFrom(
      `syntax = "proto3";
       message Inner { string a = 1; string b = 2; }
       message Req {
         string visible = 1;
         string now_secret = 2 [debug_redact = true];
         Inner whole = 3 [debug_redact = true];
         repeated Inner many = 4;
       }`,
      'Req',
    );
    const msg = { visible: 'v', now_secret: 'shh', whole: { a: 'x1', b: 'x2' }, many: [{ a: 'k' }] };
    const { value, secrets } = redactMessage(type, msg, opts);
    expect(value).toEqual({ visible: 'v', now_secret: REDACTED, whole: REDACTED, many: [{ a: 'k' }] });
    expect(secrets.map((x) => x.text)).toEqual(['shh', 'x1', 'x2']);
  });

  it('redacts env values (KeyValue.value, bytes) but keeps env names', () => {
    const bytes = schema.encode('CreateContainerRequest', {
      pod_sandbox_id: 'p',
      config: { metadata: { name: 'c' }, envs: [{ key: 'PASSWORD', value: Buffer.from('hunter22') }] },
    });
    const { value, secrets } = redactMessage(schema.type('CreateContainerRequest'), schema.decode('CreateContainerRequest', bytes), opts);
    expect(value).toEqual({ pod_sandbox_id: 'p', config: { metadata: { name: 'c' }, envs: [{ key: 'PASSWORD', value: REDACTED }] } });
    expect(secrets).toContainEqual({ text: Buffer.from('hunter22').toString('base64'), base64: true });
    expect(scrub('env was hunter22', secrets)).toBe('env was [redacted]');
  });

  it('redacts KeyValue.value even if the schema made it a string again', () => {
    const type = typeFrom('syntax = "proto3"; message KeyValue { string key = 1; string value = 2; } message R { repeated KeyValue envs = 1; }', 'R');
    expect(redactMessage(type, { envs: [{ key: 'K', value: 'plain' }] }, opts).value).toEqual({ envs: [{ key: 'K', value: REDACTED }] });
  });

  it('redacts map values whose key matches audit.sensitiveKeys, in annotations, labels and any map', () => {
    const bytes = schema.encode('RunPodSandboxRequest', {
      config: {
        metadata: { name: 'p' },
        annotations: { 'x/api-token': 'a1b2', 'secret.example/db': 'c3d4', team: 'blue' },
        labels: { tokenish: 'e5f6', app: 'web' },
      },
    });
    const { value } = redactMessage(schema.type('RunPodSandboxRequest'), schema.decode('RunPodSandboxRequest', bytes), opts);
    expect(value).toEqual({
      config: {
        metadata: { name: 'p' },
        annotations: { 'x/api-token': REDACTED, 'secret.example/db': REDACTED, team: 'blue' },
        labels: { tokenish: REDACTED, app: 'web' },
      },
    });
  });

  it('matches sensitiveKeys whatever the case of the key (apiToken, DB_SECRET)', () => {
    const bytes = schema.encode('RunPodSandboxRequest', {
      config: { metadata: { name: 'p' }, annotations: { 'example.com/apiToken': 'a1b2', 'Secret.Example/db': 'c3d4' }, labels: { X_TOKEN: 'e5f6' } },
    });
    const { value } = redactMessage(schema.type('RunPodSandboxRequest'), schema.decode('RunPodSandboxRequest', bytes), opts);
    expect(value).toEqual({
      config: { metadata: { name: 'p' }, annotations: { 'example.com/apiToken': REDACTED, 'Secret.Example/db': REDACTED }, labels: { X_TOKEN: REDACTED } },
    });
  });

  it('drops keys the type does not describe (allow-list)', () => {
    const type = typeFrom('syntax = "proto3"; message R { string a = 1; }', 'R');
    expect(redactMessage(type, { a: '1', smuggled: 'x' }, opts).value).toEqual({ a: '1' });
  });
});

describe('scrub', () => {
  it('replaces every occurrence of a secret in free text, ignoring very short ones', () => {
    const secrets = [{ text: 'hunter22', base64: false }, { text: 'x', base64: false }];
    expect(scrub('denied for hunter22 (hunter22) x', secrets)).toBe('denied for [redacted] ([redacted]) x');
  });
});
