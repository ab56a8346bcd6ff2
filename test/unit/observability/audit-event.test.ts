// Which request fields an audit event picks, by message type rather than by method.
import { describe, expect, it } from 'vitest';
import { CriSchema } from '../../../src/cri/schema.js';
import { requestDetails } from '../../../src/observability/audit-event.js';

const schema = new CriSchema();
const details = (method: string, request: Record<string, unknown>) => {
  const type = schema.method(method).requestType;
  return requestDetails(type, schema.decode(type.name, schema.encode(type.name, request)));
};
const pod = { metadata: { name: 'web', namespace: 'shop', uid: 'u-1', attempt: 2 }, annotations: { a: 'b' } };

describe('requestDetails', () => {
  it('RunPodSandbox: the pod and its RuntimeClass handler', () => {
    expect(details('RunPodSandbox', { config: pod, runtime_handler: 'kata' })).toEqual({ pod: { name: 'web', namespace: 'shop', uid: 'u-1' }, runtimeHandler: 'kata' });
  });

  it('CreateContainer: pod, container name and image', () => {
    expect(details('CreateContainer', { pod_sandbox_id: 's', config: { metadata: { name: 'app' }, image: { image: 'nginx:1' } }, sandbox_config: pod })).toEqual({
      pod: { name: 'web', namespace: 'shop', uid: 'u-1' },
      container: { name: 'app', image: 'nginx:1' },
      image: 'nginx:1',
    });
  });

  it('ExecSync and Exec: the command argv', () => {
    expect(details('ExecSync', { container_id: 'c', cmd: ['sh', '-c', 'id'], timeout: 3 })).toEqual({ command: ['sh', '-c', 'id'] });
    expect(details('Exec', { container_id: 'c', cmd: ['bash'], tty: true })).toEqual({ command: ['bash'] });
  });

  it('PullImage and RemoveImage: the image (and the pod it is for)', () => {
    expect(details('PullImage', { image: { image: 'r/x:1' }, sandbox_config: pod })).toEqual({ image: 'r/x:1', pod: { name: 'web', namespace: 'shop', uid: 'u-1' } });
    expect(details('RemoveImage', { image: { image: 'r/x:1' } })).toEqual({ image: 'r/x:1' });
  });

  it('RestorePod: every restored container', () => {
    expect(details('RestorePod', { config: pod, container_configs: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' }, image: { image: 'i' } }] })).toEqual({
      pod: { name: 'web', namespace: 'shop', uid: 'u-1' },
      containers: [{ name: 'a' }, { name: 'b', image: 'i' }],
    });
  });
});
