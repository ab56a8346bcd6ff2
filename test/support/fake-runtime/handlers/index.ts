// The fake's built-in behaviour: one row per CRI v1 method, grouped by family as runtimes
// group their handler files. startFakeRuntime checks this table against the proto's methods.
import type { DefaultHandler } from '../context.js';
import { containerHandlers } from './container.js';
import { imageHandlers } from './image.js';
import { runtimeServiceHandlers } from './runtime.js';
import { sandboxHandlers } from './sandbox.js';
import { statsHandlers } from './stats.js';
import { streamHandlers } from './stream.js';

export const defaultHandlers = {
  ...runtimeServiceHandlers,
  ...sandboxHandlers,
  ...containerHandlers,
  ...statsHandlers,
  ...streamHandlers,
  ...imageHandlers,
} satisfies Record<string, DefaultHandler>;

/** A CRI v1 method's short name, e.g. `RunPodSandbox`. */
export type CriMethod = keyof typeof defaultHandlers;

export function isCriMethod(name: string): name is CriMethod {
  return Object.hasOwn(defaultHandlers, name);
}
