// A fake CRI runtime in its own process for the benchmark, so the proxy and the client do
// not share its event loop. Prints {pod, container} ids once it serves.
import { startFakeRuntime } from '../test/support/fake-runtime.js';
import { CriClient } from '../test/support/cri-client.js';

async function main(): Promise<void> {
  const [socketPath, podsArg] = process.argv.slice(2);
  if (!socketPath) throw new Error('usage: backend SOCKET [PODS]');
  const fake = await startFakeRuntime({ name: 'bench', socketPath, images: ['bench/image:1'] });
  const client = new CriClient(socketPath);
  let pod = '';
  for (let i = 0; i < Number(podsArg ?? 1); i++) {
    const res = await client.call<{ pod_sandbox_id: string }>('RuntimeService', 'RunPodSandbox', {
      config: { metadata: { name: `pod-${i}`, namespace: 'bench', uid: `uid-${i}` }, labels: { app: 'bench', index: String(i) }, annotations: { note: 'x'.repeat(100) } },
    });
    pod ||= res.pod_sandbox_id;
  }
  const { container_id } = await client.call<{ container_id: string }>('RuntimeService', 'CreateContainer', {
    pod_sandbox_id: pod,
    config: { metadata: { name: 'c' }, image: { image: 'bench/image:1' } },
  });
  await client.call('RuntimeService', 'StartContainer', { container_id });
  client.close();
  fake.journal.length = 0;
  // The journal would grow without bound under load: drop it as it fills.
  setInterval(() => (fake.journal.length = 0), 200).unref();
  process.stdout.write(JSON.stringify({ pod, container: container_id }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench backend failed: ${String(err)}\n`);
  process.exit(1);
});
