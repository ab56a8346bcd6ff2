// All backends, default first, and the health probe that keeps their state current.
import { status as Code } from '@grpc/grpc-js';
import type { Config } from '../config/types.js';
import { BackendError } from '../errors/status.js';
import { Backend } from './backend.js';
import { peekString } from '../cri/wire.js';

const VERSION_PATH = '/runtime.v1.RuntimeService/Version';

export class BackendPool {
  readonly all: readonly Backend[];
  readonly default: Backend;
  private readonly byName: ReadonlyMap<string, Backend>;
  private timer: NodeJS.Timeout | undefined;
  /** When each backend last answered a health probe (ms since epoch), for metrics. */
  readonly lastProbeOk = new Map<string, number>();

  constructor(private readonly config: Config) {
    this.all = config.backends.map((b) => new Backend(b, config.maxMessageBytes));
    this.default = this.all.find((b) => b.config.default)!;
    this.byName = new Map(this.all.map((b) => [b.name, b]));
  }

  get(name: string): Backend {
    const b = this.byName.get(name);
    if (!b) throw new Error(`no backend named ${name}`);
    return b;
  }

  /** One Version call per backend; updates health, and the version string on success. */
  async probeAll(): Promise<void> {
    await Promise.all(this.all.map((b) => this.probe(b)));
  }

  private async probe(b: Backend): Promise<void> {
    try {
      const bytes = await b.unary(VERSION_PATH, Buffer.alloc(0), { deadline: Date.now() + this.config.failure.probeTimeoutMs });
      b.version = versionString(bytes);
      this.lastProbeOk.set(b.name, Date.now());
    } catch (err) {
      const e = BackendError.from(b.name, err);
      // A runtime that answers at all is up, even if it refused the call.
      if (e.code === Code.UNAVAILABLE || e.code === Code.DEADLINE_EXCEEDED) b.markDown(e.details);
      else {
        b.markUp();
        this.lastProbeOk.set(b.name, Date.now());
      }
    }
  }

  startProbing(): void {
    const tick = (): void => {
      this.timer = setTimeout(() => void this.probeAll().finally(tick), this.config.failure.probeIntervalMs);
      this.timer.unref();
    };
    tick();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const b of this.all) b.close();
  }
}

/** "containerd 1.6.20" from VersionResponse bytes (runtime_name = 2, runtime_version = 3). */
function versionString(bytes: Buffer): string {
  try {
    return `${peekString(bytes, [2]) ?? ''} ${peekString(bytes, [3]) ?? ''}`.trim();
  } catch {
    return 'unparsable VersionResponse';
  }
}
