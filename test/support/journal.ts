// Reading fake runtimes' journals in assertions, e.g.
//   expect(takeMethods(a, b)).toEqual(['a/RunPodSandbox', 'b/ListContainers']);
import type { DecodedMessage } from './fake-runtime/message.js';
import type { JournalEntry } from './fake-runtime/fake.js';

/** Anything with a journal (a FakeRuntime). */
export interface JournalSource {
  readonly journal: JournalEntry[];
}

/** methods lists the method names a fake received, oldest first. */
export function methods(fake: JournalSource): string[] {
  return fake.journal.map((entry) => entry.method);
}

/** take returns a fake's journal entries and clears its journal. */
export function take(fake: JournalSource): JournalEntry[] {
  return fake.journal.splice(0);
}

/**
 * takeMethods merges the journals of several fakes in arrival order as `runtime/Method`
 * strings, and clears them: the shape of criproxy's prefixed journal.
 */
export function takeMethods(...fakes: JournalSource[]): string[] {
  return fakes
    .flatMap(take)
    .sort((a, b) => a.seq - b.seq)
    .map((entry) => `${entry.runtime}/${entry.method}`);
}

/** lastRequest is the decoded request of the latest call of `method`, if any. */
export function lastRequest(fake: JournalSource, method: string): DecodedMessage | undefined {
  return fake.journal.findLast((entry) => entry.method === method)?.request;
}
