// Merging per-backend answers without decoding them: concatenated protobuf messages are
// one message whose repeated fields hold every backend's items.
import type { CompiledMerge } from '../cri/plan.js';
import { fieldsOf, peekString } from '../cri/wire.js';

/** Keys already emitted, per list field; shared across the messages of one stream. */
export type SeenKeys = Map<number, Set<string>>;

export function mergeAnswers(parts: readonly Buffer[], merge: CompiledMerge, seen: SeenKeys = new Map()): Buffer {
  if (merge.by === 'concat') return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  const kept: Buffer[] = [];
  for (const part of parts) {
    for (const f of fieldsOf(part)) {
      if (merge.lists.includes(f.number)) {
        const key = peekString(part.subarray(f.valueStart, f.valueEnd), merge.key) ?? '';
        let keys = seen.get(f.number);
        if (!keys) seen.set(f.number, (keys = new Set()));
        if (key !== '' && keys.has(key)) continue;
        keys.add(key);
      }
      kept.push(part.subarray(f.start, f.end));
    }
  }
  return Buffer.concat(kept);
}
