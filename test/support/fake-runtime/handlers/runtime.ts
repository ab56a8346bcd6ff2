// Runtime-wide RPCs: Version, Status, RuntimeConfig, UpdateRuntimeConfig.
import { status } from '@grpc/grpc-js';
import type { DefaultHandler } from '../context.js';
import { runtimeHandlers } from '../lifecycle.js';
import { bool } from '../message.js';
import { statusError } from '../status.js';

export const FAKE_RUNTIME_VERSION = '1.0.0-fake';

export const runtimeServiceHandlers = {
  Version(ctx) {
    return {
      version: '0.1.0',
      runtime_name: ctx.options.name,
      runtime_version: FAKE_RUNTIME_VERSION,
      runtime_api_version: 'v1',
    };
  },

  Status(ctx, request) {
    const features = { recursive_read_only_mounts: true, user_namespaces: true };
    return {
      status: {
        conditions: [
          { type: 'RuntimeReady', status: true, reason: '', message: '' },
          { type: 'NetworkReady', status: true, reason: '', message: '' },
        ],
      },
      info: bool(request, 'verbose') ? { config: JSON.stringify({ runtime: ctx.options.name }) } : {},
      runtime_handlers: runtimeHandlers(ctx).map((name) => ({ name, features })),
      features: { supplemental_groups_policy: true, user_namespaces_host_network: true, mount_options: true },
    };
  },

  RuntimeConfig(ctx) {
    if (ctx.options.runtimeConfigUnimplemented === true) {
      throw statusError(status.UNIMPLEMENTED, 'unknown method RuntimeConfig for service runtime.v1.RuntimeService');
    }
    return { linux: { cgroup_driver: ctx.options.cgroupDriver ?? 'SYSTEMD' } };
  },

  UpdateRuntimeConfig(ctx, request) {
    ctx.state.lastRuntimeConfig = request;
    return {};
  },
} satisfies Record<string, DefaultHandler>;
