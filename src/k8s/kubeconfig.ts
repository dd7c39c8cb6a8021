// Finding the cluster the way kubectl does: --kubeconfig (that file only), else KUBECONFIG (several files,
// the first to define a name or the current context wins), else ~/.kube/config, else the Pod's service
// account. An unknown --context is an error, not a silent fallback. And the way to it: the proxy kubectl
// would go through (proxyFor).

import { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { domainToASCII } from 'node:url';
import { InputError, UsageError, UnreachableError } from '../errors.ts';

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeconfigOptions {
  kubeconfig?: string;
  context?: string;
  env: Record<string, string | undefined>;
}

export function loadKubeConfig(opts: KubeconfigOptions): KubeConfig {
  const kc = new KubeConfig();
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig)) throw new UsageError(`--kubeconfig ${opts.kubeconfig}: no such file`);
    loadFile(kc, opts.kubeconfig);
  } else if (opts.env.KUBECONFIG) {
    const files = opts.env.KUBECONFIG.split(delimiter).filter((f) => f && existsSync(f));
    if (files.length === 0) throw new UsageError(`KUBECONFIG=${opts.env.KUBECONFIG}: none of its files exists`);
    mergeFirstWins(kc, files);
  } else if (existsSync(join(opts.env.HOME ?? homedir(), '.kube', 'config'))) {
    loadFile(kc, join(opts.env.HOME ?? homedir(), '.kube', 'config'));
  } else if (opts.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT)) {
    kc.loadFromCluster();
  } else {
    throw new UnreachableError('no cluster configuration: no --kubeconfig, no KUBECONFIG, no ~/.kube/config, and not running in a Pod', {
      hint: 'point --kubeconfig or KUBECONFIG at a kubeconfig file, or use -f FILE to work offline',
    });
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw new UsageError(`context "${opts.context}" does not exist`, {
        hint: `known contexts: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || '(none)'
        }`,
      });
    }
    kc.setCurrentContext(opts.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    const current = kc.getCurrentContext();
    const names = kc.getContexts().map((c) => c.name);
    throw new UsageError(current ? `the current context "${current}" names no cluster` : 'the kubeconfig sets no current context', {
      hint: names.length
        ? `pick one with --context (known: ${names.join(', ')})`
        : 'the kubeconfig defines no context: kubectl config set-context, or point --kubeconfig at another file',
    });
  }
  let url: URL | undefined;
  try {
    url = new URL(cluster.server);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:') {
    const why = url ? 'is not HTTPS: vsop talks to the API server over HTTPS only' : 'is not a URL';
    throw new InputError('invalid kubeconfig', [{ source: `cluster "${cluster.name}"`, path: 'cluster.server', message: `${JSON.stringify(cluster.server)} ${why}` }], {
      hint: "set the cluster's server to https://HOST:PORT",
    });
  }
  if (cluster.proxyUrl) checkProxyUrl(cluster.name, cluster.proxyUrl);
  return kc;
}

/** A proxy to reach the API server through, and where it was set (for messages). */
export interface ClusterProxy {
  url: URL;
  /** `HTTPS_PROXY`, `https_proxy` or `proxy-url of cluster "NAME"` */
  from: string;
}

/**
 * The proxy kubectl would use for the current cluster, by client-go's rules: the cluster's `proxy-url`
 * for every request (clientcmd/client_config.go sets rest.Config.Proxy = http.ProxyURL(u): no NO_PROXY,
 * no exceptions), else Go's http.ProxyFromEnvironment (client-go's transport/cache.go), which for an
 * https server is HTTPS_PROXY, else https_proxy, unless NO_PROXY (else no_proxy) excludes the server.
 * HTTP_PROXY is for http servers, which vsop does not talk to.
 */
export function proxyFor(kc: KubeConfig, env: Record<string, string | undefined>): ClusterProxy | undefined {
  const cluster = kc.getCurrentCluster();
  if (!cluster) return undefined;
  if (cluster.proxyUrl) return { url: new URL(cluster.proxyUrl), from: `proxy-url of cluster "${cluster.name}"` };
  const from = env.HTTPS_PROXY ? 'HTTPS_PROXY' : env.https_proxy ? 'https_proxy' : undefined;
  const url = from ? parseEnvProxy(env[from]!) : undefined;
  if (!url || !from || !useProxy(new URL(cluster.server), env.NO_PROXY || env.no_proxy || '')) return undefined;
  return { url, from };
}

/** client-go's parseProxyURL (clientcmd/helpers.go): http, https and socks5 only; kubectl refuses others. */
function checkProxyUrl(cluster: string, value: string): void {
  let scheme: string | undefined;
  try {
    scheme = new URL(value).protocol.slice(0, -1);
  } catch {
    scheme = undefined;
  }
  if (scheme === 'http' || scheme === 'https' || scheme === 'socks5') return;
  const why = scheme === undefined ? 'is not a URL' : `has the unsupported scheme "${scheme}": it must be http, https or socks5 (as for kubectl)`;
  throw new InputError('invalid kubeconfig', [{ source: `cluster "${cluster}"`, path: 'cluster.proxy-url', message: `${JSON.stringify(value)} ${why}` }], {
    hint: "set the cluster's proxy-url to http://HOST:PORT, https://HOST:PORT or socks5://HOST:PORT",
  });
}

// Go's rules for the environment's proxy and NO_PROXY, from golang.org/x/net/http/httpproxy (proxy.go,
// vendored in Go's net/http), which kubectl follows. No npm package applies them: proxy-from-env 2.1 and
// no-proxy 1.0 read only process.env (vsop's environment is injected), let the lower-case variables win
// over the upper-case ones, have no CIDRs, and match "example.com" without its subdomains; undici's
// EnvHttpProxyAgent and Node's own proxy support (NODE_USE_ENV_PROXY) also prefer the lower-case
// variables and let ".example.com" match example.com itself. So the rules are here, with Go's own test
// table in test/unit/proxy.test.ts; addresses and CIDRs are Node's (net.BlockList).

/** Go's parseProxy: a value without a scheme and host ("proxy:3128") is an http proxy; one that does not parse is ignored. */
function parseEnvProxy(value: string): URL | undefined {
  for (const candidate of [value, `http://${value}`]) {
    try {
      const url = new URL(candidate);
      if (url.host) return url;
    } catch {
      // try the next form
    }
  }
  return undefined;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** An IP address, or a subnet with `prefix`, as a BlockList; undefined when `ip` is not an address or `prefix` too long. */
function addresses(ip: string, prefix?: number): BlockList | undefined {
  const family = isIP(ip);
  if (!family || (prefix !== undefined && prefix > (family === 4 ? 32 : 128))) return undefined;
  const list = new BlockList();
  if (prefix === undefined) list.addAddress(ip, family === 4 ? 'ipv4' : 'ipv6');
  else list.addSubnet(ip, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return list;
}

/**
 * Go's useProxy: never for localhost or a loopback address; not when a NO_PROXY entry matches: `*`; an IP
 * address or CIDR (for an IP server only); a domain, which matches itself and its subdomains
 * ("example.com"), or only its subdomains (".example.com", "*.example.com"); an IP or domain entry may
 * carry a port, and then matches that port only.
 */
export function useProxy(server: URL, noProxy: string): boolean {
  const host = server.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = server.port || (server.protocol === 'http:' ? '80' : '443');
  const family = isIP(host);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (host === 'localhost' || (family && LOOPBACK.check(host, type))) return false;
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return false;
    const cidr = /^(.+)\/(\d+)$/.exec(entry);
    const subnet = cidr && addresses(cidr[1]!, Number(cidr[2]));
    if (subnet) {
      if (family && subnet.check(host, type)) return false;
      continue;
    }
    const [name, onlyPort] = splitHostPort(entry) ?? [entry, ''];
    if (!name || (onlyPort && onlyPort !== port)) continue;
    const address = addresses(name);
    if (address) {
      if (family && address.check(host, type)) return false;
      continue;
    }
    if (family) continue;
    const subdomainsOnly = name.startsWith('.') || name.startsWith('*.');
    const bare = name.replace(/^\*?\./, '');
    const domain = domainToASCII(bare) || bare;
    if (host.endsWith(`.${domain}`) || (!subdomainsOnly && host === domain)) return false;
  }
  return true;
}

/** Go's net.SplitHostPort for NO_PROXY entries: "host:port" or "[v6]:port"; undefined when there is no port. */
function splitHostPort(entry: string): [string, string] | undefined {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(entry);
  if (bracketed) return [bracketed[1]!, bracketed[2]!];
  const colon = entry.indexOf(':');
  if (colon < 0 || colon !== entry.lastIndexOf(':') || entry.startsWith('[')) return undefined;
  return [entry.slice(0, colon), entry.slice(colon + 1)];
}

/**
 * One kubeconfig file, with relative paths made absolute as kubectl does. An empty file is an empty
 * configuration (kubectl reads it so); one that is not YAML is invalid input naming the file.
 */
function loadFile(kc: KubeConfig, file: string): void {
  const text = readFileSync(file, 'utf8');
  if (text.trim() === '') return;
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new InputError('invalid kubeconfig', [{ source: file, path: '', message: `is not a kubeconfig: ${String((err as Error).message).split('\n')[0]}` }], {
      hint: `check it with: kubectl config view --kubeconfig ${file}`,
    });
  }
  kc.makePathsAbsolute(dirname(file));
}

/** kubectl's merge: the first file to define a cluster, user or context keeps it; so does current-context. */
function mergeFirstWins(kc: KubeConfig, files: string[]): void {
  const merged = { clusters: [] as { name: string }[], users: [] as { name: string }[], contexts: [] as { name: string }[], currentContext: '' };
  for (const file of files) {
    const one = new KubeConfig();
    loadFile(one, file);
    const add = <T extends { name: string }>(into: T[], from: T[]) => {
      for (const item of from) if (!into.some((x) => x.name === item.name)) into.push(item);
    };
    add(merged.clusters, one.getClusters());
    add(merged.users, one.getUsers());
    add(merged.contexts, one.getContexts());
    if (!merged.currentContext && one.getCurrentContext()) merged.currentContext = one.getCurrentContext();
  }
  kc.loadFromOptions(merged);
}
