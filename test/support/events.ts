import type { ClientReadableStream } from '@grpc/grpc-js';

/** Collects a GetContainerEvents stream's container ids; `ended` resolves with its error or 'end'. */
export function collectEvents(stream: ClientReadableStream<{ container_id: string }>): { events: string[]; ended: Promise<unknown> } {
  const events: string[] = [];
  const ended = new Promise((resolve) => {
    stream.on('data', (e: { container_id: string }) => events.push(e.container_id));
    stream.on('error', resolve);
    stream.on('end', () => resolve('end'));
  });
  return { events, ended };
}
