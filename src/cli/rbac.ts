// vsop config rbac: the Roles and RoleBindings the configuration calls for, to apply instead of the
// cluster-wide write on Services (see the README, "Permissions").

import { loadConfig } from '../core/config.ts';
import { configRoles } from '../core/rbac.ts';
import { toJsonList, toYamlStream } from '../core/render.ts';
import { UsageError } from '../errors.ts';
import type { Io } from './io.ts';
import { paint } from './paint.ts';
import { openSource, printWarnings, type SourceOptions } from './source.ts';

interface RbacOptions extends SourceOptions {
  /** NAMESPACE:NAME, as kubectl create rolebinding --serviceaccount takes it. */
  serviceaccount?: string;
  output: 'yaml' | 'json';
}

/** The operator's ServiceAccount, in the namespace of its ConfigMap: deployments/deployment.yaml's. */
const DEFAULT_ACCOUNT = 'virtualservice-operator';

export async function rbac(io: Io, opts: RbacOptions): Promise<number> {
  const account = serviceAccount(opts.serviceaccount ?? `${opts.configNamespace}:${DEFAULT_ACCOUNT}`);
  const { config } = await (await openSource(io, opts)).source.read();
  const loaded = loadConfig(config.text, config.source, config.locate);
  printWarnings(io, loaded.warnings, paint(io, opts.color).err.yellow);
  const objects = configRoles(loaded.config, { name: account.name, serviceAccount: account });
  io.out(opts.output === 'json' ? toJsonList(objects) : toYamlStream(objects));
  return 0;
}

function serviceAccount(value: string): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(value);
  if (!m || m[1]!.length > 63 || m[3]!.length > 253) {
    throw new UsageError(`--serviceaccount "${value}" is not NAMESPACE:NAME (a namespace and a ServiceAccount name, e.g. virtualservice-operator-system:virtualservice-operator)`);
  }
  return { namespace: m[1]!, name: m[3]! };
}
