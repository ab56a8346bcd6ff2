// GetContainerEvents fan-out: every open event stream gets every container event until the
// client goes away or the test breaks all streams (to show what a dying runtime looks like).
import type { ResponseMessage } from './message.js';
import { type FakeStatus, FakeStatusError } from './status.js';

interface Subscriber {
  push(event: ResponseMessage): void;
  fail(status: FakeStatus): void;
}

export class EventHub {
  readonly #subscribers = new Set<Subscriber>();

  /** Open event streams right now. */
  get size(): number {
    return this.#subscribers.size;
  }

  publish(event: ResponseMessage): void {
    for (const subscriber of this.#subscribers) subscriber.push(event);
  }

  /** fail ends every open stream with `status`; streams opened later are unaffected. */
  fail(status: FakeStatus): void {
    for (const subscriber of this.#subscribers) subscriber.fail(status);
    this.#subscribers.clear();
  }

  /**
   * subscribe registers at once (so no event published after this call is missed) and yields
   * events until `signal` aborts (the call ended) or `fail` throws the given status.
   */
  subscribe(signal: AbortSignal): AsyncIterable<ResponseMessage> {
    const queue: ResponseMessage[] = [];
    let failure: FakeStatus | undefined;
    let wake: (() => void) | undefined;
    const subscriber: Subscriber = {
      push: (event) => {
        queue.push(event);
        wake?.();
      },
      fail: (status) => {
        failure = status;
        wake?.();
      },
    };
    const onAbort = (): void => wake?.();
    this.#subscribers.add(subscriber);
    signal.addEventListener('abort', onAbort);
    const subscribers = this.#subscribers;
    return (async function* events(): AsyncGenerator<ResponseMessage> {
      try {
        while (!signal.aborted) {
          const next = queue.shift();
          if (next !== undefined) {
            yield next;
          } else if (failure !== undefined) {
            throw new FakeStatusError(failure.code, failure.details ?? '', failure.metadata);
          } else {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
        }
      } finally {
        subscribers.delete(subscriber);
        signal.removeEventListener('abort', onAbort);
      }
    })();
  }
}
