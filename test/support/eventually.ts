// Polling for tests against real runtimes, where state settles asynchronously (CNI config
// loading, log files being written, a killed process being reaped).

/**
 * Calls `fn` every `intervalMs` until it returns something other than undefined and resolves
 * with that; a throw counts as "not yet". Rejects after `timeoutMs`, naming `what` and the
 * last error seen.
 */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  intervalMs = 200,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
