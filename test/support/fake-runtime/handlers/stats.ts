// Stats and metrics RPCs: ContainerStats, ListContainerStats, PodSandboxStats,
// ListPodSandboxStats, ListMetricDescriptors, ListPodSandboxMetrics. The numbers are
// plausible constants; what matters to a proxy is which objects appear, and from whom.
import type { DefaultHandler, FakeContext } from '../context.js';
import { idMatcher, matchesLabels } from '../filters.js';
import { containersOf } from '../lifecycle.js';
import { type DecodedMessage, rec, type ResponseMessage, str, stringMap } from '../message.js';
import { type ContainerRecord, need, nowNanos, type SandboxRecord } from '../state.js';

/** The metric every runtime reports (a shared name, so a proxy must not double it). */
export const SHARED_METRIC = 'container_cpu_usage_seconds_total';

const value = (n: number): ResponseMessage => ({ value: String(n) });

function cpu(timestamp: string): ResponseMessage {
  return { timestamp, usage_core_nano_seconds: value(1_500_000_000), usage_nano_cores: value(2_000_000) };
}

function memory(timestamp: string): ResponseMessage {
  return {
    timestamp,
    working_set_bytes: value(8 << 20),
    available_bytes: value(120 << 20),
    usage_bytes: value(10 << 20),
    rss_bytes: value(6 << 20),
    page_faults: value(1200),
    major_page_faults: value(3),
  };
}

function containerStats(ctx: FakeContext, container: ContainerRecord): ResponseMessage {
  const timestamp = nowNanos();
  return {
    attributes: { id: container.id, metadata: container.metadata, labels: container.labels, annotations: container.annotations },
    cpu: cpu(timestamp),
    memory: memory(timestamp),
    writable_layer: {
      timestamp,
      fs_id: { mountpoint: `/var/lib/${ctx.options.name}` },
      used_bytes: value(4096),
      inodes_used: value(10),
    },
  };
}

function sandboxStats(ctx: FakeContext, sandbox: SandboxRecord): ResponseMessage {
  const timestamp = nowNanos();
  const containers = containersOf(ctx, sandbox.id);
  const eth0 = { name: 'eth0', rx_bytes: value(1 << 20), rx_errors: value(0), tx_bytes: value(1 << 19), tx_errors: value(0) };
  return {
    attributes: { id: sandbox.id, metadata: sandbox.metadata, labels: sandbox.labels, annotations: sandbox.annotations },
    linux: {
      cpu: cpu(timestamp),
      memory: memory(timestamp),
      network: { timestamp, default_interface: eth0, interfaces: [eth0] },
      process: { timestamp, process_count: value(containers.filter((c) => c.state === 'CONTAINER_RUNNING').length + 1) },
      containers: containers.map((c) => containerStats(ctx, c)),
    },
  };
}

/** listContainerStats applies a ContainerStatsFilter to every known container; shared with StreamContainerStats. */
export function listContainerStats(ctx: FakeContext, filter: DecodedMessage | undefined): ResponseMessage[] {
  const idMatches = idMatcher(ctx.state.containers, str(filter, 'id'));
  const sandboxMatches = idMatcher(ctx.state.sandboxes, str(filter, 'pod_sandbox_id'));
  const selector = stringMap(filter, 'label_selector');
  return [...ctx.state.containers.values()]
    .filter((c) => idMatches(c.id) && sandboxMatches(c.pod_sandbox_id) && matchesLabels(c.labels, selector))
    .map((c) => containerStats(ctx, c));
}

/** listSandboxStats applies a PodSandboxStatsFilter to every known sandbox; shared with StreamPodSandboxStats. */
export function listSandboxStats(ctx: FakeContext, filter: DecodedMessage | undefined): ResponseMessage[] {
  const idMatches = idMatcher(ctx.state.sandboxes, str(filter, 'id'));
  const selector = stringMap(filter, 'label_selector');
  return [...ctx.state.sandboxes.values()]
    .filter((s) => idMatches(s.id) && matchesLabels(s.labels, selector))
    .map((s) => sandboxStats(ctx, s));
}

/** listSandboxMetrics: one PodSandboxMetrics per sandbox; shared with StreamPodSandboxMetrics. */
export function listSandboxMetrics(ctx: FakeContext): ResponseMessage[] {
  const metric = (name: string, labelValues: string[]): ResponseMessage => ({
    name,
    timestamp: '0',
    metric_type: 'COUNTER',
    label_values: labelValues,
    value: value(1),
  });
  return [...ctx.state.sandboxes.values()].map((sandbox) => ({
    pod_sandbox_id: sandbox.id,
    metrics: [metric(`${ctx.options.name}_cpu`, [])],
    container_metrics: containersOf(ctx, sandbox.id).map((c) => ({
      container_id: c.id,
      metrics: [metric(SHARED_METRIC, [str(c.metadata, 'name')])],
    })),
  }));
}

export const statsHandlers = {
  ContainerStats(ctx, request) {
    return { stats: containerStats(ctx, need(ctx.state.containers, str(request, 'container_id'), 'container')) };
  },

  ListContainerStats(ctx, request) {
    return { stats: listContainerStats(ctx, rec(request, 'filter')) };
  },

  PodSandboxStats(ctx, request) {
    return { stats: sandboxStats(ctx, need(ctx.state.sandboxes, str(request, 'pod_sandbox_id'), 'pod sandbox')) };
  },

  ListPodSandboxStats(ctx, request) {
    return { stats: listSandboxStats(ctx, rec(request, 'filter')) };
  },

  ListMetricDescriptors(ctx) {
    return {
      descriptors: [
        { name: `${ctx.options.name}_cpu`, help: `CPU seconds of the pod as seen by ${ctx.options.name}`, label_keys: [] },
        { name: SHARED_METRIC, help: 'Cumulative container CPU seconds', label_keys: ['container'] },
      ],
    };
  },

  ListPodSandboxMetrics(ctx) {
    return { pod_metrics: listSandboxMetrics(ctx) };
  },
} satisfies Record<string, DefaultHandler>;
