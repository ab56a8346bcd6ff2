import { describe, expect, it } from 'vitest';
import { compileTable } from '../../../src/cri/plan.js';
import { CriSchema } from '../../../src/cri/schema.js';
import { METHOD_TABLE, MUTATING } from '../../../src/cri/table.js';
import { OWNERSHIP_WIRE } from '../../../src/backends/ownership.js';

const schema = new CriSchema();

describe('method table', () => {
  it('has exactly one row per RPC of the schema, streaming rows on streaming RPCs', () => {
    expect(Object.keys(METHOD_TABLE).sort()).toEqual([...schema.methods.keys()].sort());
    const { plans, unplanned } = compileTable(schema);
    expect(unplanned).toEqual([]);
    for (const plan of plans.values()) {
      const streams = plan.row.strategy === 'streamMerge' || plan.row.strategy === 'events';
      expect(streams, plan.name).toBe(plan.info.serverStreaming);
    }
  });

  it('compiles every field name a row uses (a typo fails here, not in production)', () => {
    const { plans } = compileTable(schema);
    expect(plans.get('ExecSync')!.id).toEqual([1]);
    expect(plans.get('RunPodSandbox')!.handler).toEqual([2]);
    expect(plans.get('ListContainers')!.narrow).toEqual({ containerId: [1, 1], sandboxId: [1, 3] });
    expect(plans.get('ListImages')!.narrow).toEqual({ handler: [1, 1, 19] });
    expect(plans.get('RestorePod')!.createsContainers).toEqual({ list: 2, id: [2] });
    expect(plans.get('ImageFsInfo')!.merge).toEqual({ by: 'unique', lists: [1, 2], key: [2, 1] });
  });

  it('only lists real methods as mutating', () => {
    for (const m of MUTATING) expect(schema.methods.has(m), m).toBe(true);
  });

  it('pins the ownership wire layout to the schema', () => {
    const sandboxes = schema.method('ListPodSandbox');
    const containers = schema.method('ListContainers');
    expect(schema.fieldPath(sandboxes.requestType, 'filter.id')).toEqual([OWNERSHIP_WIRE.filter, OWNERSHIP_WIRE.filterId]);
    expect(schema.fieldPath(containers.requestType, 'filter.id')).toEqual([OWNERSHIP_WIRE.filter, OWNERSHIP_WIRE.filterId]);
    expect(schema.fieldPath(sandboxes.responseType, 'items.id')).toEqual([OWNERSHIP_WIRE.items, OWNERSHIP_WIRE.itemId]);
    expect(schema.fieldPath(containers.responseType, 'containers.id')).toEqual([OWNERSHIP_WIRE.items, OWNERSHIP_WIRE.itemId]);
    expect(schema.fieldPath(containers.responseType, 'containers.pod_sandbox_id')).toEqual([OWNERSHIP_WIRE.items, OWNERSHIP_WIRE.containerSandboxId]);
    expect(sandboxes.path).toBe(OWNERSHIP_WIRE.sandbox.path);
    expect(containers.path).toBe(OWNERSHIP_WIRE.container.path);
  });
});
