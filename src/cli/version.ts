// vsop version, as kubectl version: vsop's own version, then, unless --client, the API server's (GET
// /version) and Istio's. A cluster that cannot be reached ends the command with its error and exit code
// after the client part is printed, as kubectl does.
//
// Istio's version comes from the labels of its istiod Services (app=istiod): Istio's Helm charts set
// app.kubernetes.io/version, and istioctl's operator installs set operator.istio.io/version. Listing
// Services cluster-wide is a right vsop already needs; istioctl asks istiod itself, which vsop may not.

import { toYaml } from '../core/render.ts';
import type { Service } from '../core/types.ts';
import { VsopError } from '../errors.ts';
import type { ServerVersion } from '../k8s/port.ts';
import type { Io } from './io.ts';
import type { GlobalOptions } from './options.ts';
import { paint } from './paint.ts';
import { progress } from './progress.ts';

interface VersionOptions extends GlobalOptions {
  client?: boolean;
  output: 'text' | 'json' | 'yaml';
}

export interface IstioRevision {
  revision: string;
  version: string;
  /** The Service the version was read from, namespace/name. */
  service: string;
}

interface Versions {
  clientVersion: { version: string; nodeVersion: string; platform: string };
  serverVersion?: ServerVersion;
  /** One per istiod revision found; empty when none says its version. */
  istioVersions?: IstioRevision[];
}

const VERSION_LABELS = ['app.kubernetes.io/version', 'operator.istio.io/version'];

export async function version(io: Io, opts: VersionOptions, clientVersion: string): Promise<number> {
  const versions: Versions = { clientVersion: { version: clientVersion, nodeVersion: process.version, platform: `${process.platform}/${process.arch}` } };
  if (opts.client) {
    print(io, opts.output, versions, undefined);
    return 0;
  }
  const spinner = progress(io, opts.color, 'Asking the cluster');
  let istioUnknown: string | undefined;
  let port: Awaited<ReturnType<typeof connectTo>> | undefined;
  try {
    port = await connectTo(io, opts);
    versions.serverVersion = await port.serverVersion();
    try {
      versions.istioVersions = istioRevisions(await port.listServices('', 'app=istiod'));
      if (versions.istioVersions.length === 0) istioUnknown = 'no Service labelled app=istiod carries a version label';
    } catch (err) {
      if (!(err instanceof VsopError)) throw err;
      versions.istioVersions = [];
      istioUnknown = err.message;
    }
  } catch (err) {
    spinner.stop();
    // The client part first, then the error (main.ts prints it and picks the exit code).
    print(io, opts.output, versions, undefined);
    throw err;
  } finally {
    spinner.stop();
    port?.close?.();
  }
  if (istioUnknown && opts.output !== 'text') io.err(`${paint(io, opts.color).err.yellow('warning:')} Istio's version is unknown: ${istioUnknown}\n`);
  print(io, opts.output, versions, istioUnknown);
  return 0;
}

async function connectTo(io: Io, opts: VersionOptions) {
  const { connectWith } = await import('../k8s/connect.ts');
  return connectWith(io.env, opts, { signal: io.signal });
}

/** One entry per revision (a revision tag's Service repeats its revision's), in revision order. */
export function istioRevisions(services: readonly Service[]): IstioRevision[] {
  const byRevision = new Map<string, IstioRevision>();
  for (const s of services) {
    const labels = s.metadata.labels ?? {};
    const version = VERSION_LABELS.map((l) => labels[l]).find((v) => v);
    const revision = labels['istio.io/rev'] || 'default';
    if (!version || (byRevision.has(revision) && labels['istio.io/tag'])) continue;
    byRevision.set(revision, { revision, version, service: `${s.metadata.namespace}/${s.metadata.name}` });
  }
  return [...byRevision.values()].sort((a, b) => a.revision.localeCompare(b.revision));
}

function print(io: Io, output: VersionOptions['output'], v: Versions, istioUnknown: string | undefined): void {
  if (output === 'json') return io.out(`${JSON.stringify(v, null, 2)}\n`);
  if (output === 'yaml') return io.out(toYaml(v));
  const lines = [`Client Version: ${v.clientVersion.version}`, `Node.js Version: ${v.clientVersion.nodeVersion}`];
  if (v.serverVersion) lines.push(`Server Version: ${v.serverVersion.gitVersion ?? `${v.serverVersion.major}.${v.serverVersion.minor}`}`);
  if (v.istioVersions) {
    const revisions = v.istioVersions.map((r) => (v.istioVersions!.length === 1 && r.revision === 'default' ? r.version : `${r.version} (revision ${r.revision})`));
    lines.push(`Istio Version: ${istioUnknown ? `unknown (${istioUnknown})` : revisions.join(', ')}`);
  }
  io.out(`${lines.join('\n')}\n`);
}
