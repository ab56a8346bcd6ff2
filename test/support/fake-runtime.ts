// In-process fake CRI v1 runtime for proxy tests: a real grpc-js server on a unix socket, built
// from the project's proto/, with realistic defaults for every RuntimeService and ImageService
// method, a journal of the exact bytes received, and injectable handlers, errors and latency.
//
//   const fake = await startFakeRuntime({ name: 'containerd', socketPath: join(dir, 'a.sock') });
//   ... drive the proxy ...
//   expect(methods(fake)).toEqual(['RunPodSandbox']);   // see journal.ts
//   await fake.stop();
//
// This file is the public surface; test/support/fake-runtime/ holds the parts.
export { startFakeRuntime, type FakeRuntime, type JournalEntry } from './fake-runtime/fake.js';
export type { FakeCall, FakeHandler, FakeRuntimeOptions, HandlerReply } from './fake-runtime/context.js';
export type { CriMethod } from './fake-runtime/handlers/index.js';
export type { DecodedMessage, ResponseMessage } from './fake-runtime/message.js';
export { type FakeStatus, FakeStatusError, statusError } from './fake-runtime/status.js';
export {
  type CheckpointRecord,
  type ContainerRecord,
  type ContainerState,
  type FakeState,
  type ImageRecord,
  imageIdFor,
  type SandboxRecord,
  type SandboxState,
} from './fake-runtime/state.js';
export { STREAM_BATCH_SIZE } from './fake-runtime/handlers/stream.js';
export { SHARED_METRIC } from './fake-runtime/handlers/stats.js';
export { FAKE_RUNTIME_VERSION } from './fake-runtime/handlers/runtime.js';
export { withUnknownField } from './fake-runtime/wire.js';
