// The floor for any grpc-js proxy hop: a pass-through with no routing, no peeking, no
// observers. npm run bench measures cri-mux against it as well as against direct calls,
// so what cri-mux itself costs is told apart from what the extra hop costs.
// Usage: node dist/bench/bare-proxy.js LISTEN_SOCKET BACKEND_SOCKET
import * as grpc from '@grpc/grpc-js';
import { CriSchema } from '../src/cri/schema.js';

const [listen, target] = process.argv.slice(2);
if (!listen || !target) throw new Error('usage: bare-proxy LISTEN_SOCKET BACKEND_SOCKET');
const client = new grpc.Client(`unix://${target}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 << 20 });
const id = (b: Buffer): Buffer => b;
const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 << 20 });
const schema = new CriSchema();
for (const service of ['RuntimeService', 'ImageService']) {
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const impl: grpc.UntypedServiceImplementation = {};
  for (const m of schema.methods.values()) {
    if (m.service !== service || m.serverStreaming) continue;
    definition[m.name] = { path: m.path, requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id };
    impl[m.name] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      client.makeUnaryRequest(m.path, id, id, call.request, call.metadata, {}, callback);
  }
  server.addService(definition as grpc.ServiceDefinition, impl);
}
server.bindAsync(`unix://${listen}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
});
