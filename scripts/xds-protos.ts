// Generates src/xds/envoy.gen.json (npm run xds-protos; run again after moving @grpc/grpc-js-xds to another
// release, and commit the result): the Envoy v3 messages `vsop xds` encodes and decodes, as a protobufjs
// JSON descriptor. The .proto files are those the gRPC project ships in @grpc/grpc-js-xds (deps/: Envoy's
// data-plane-api, cncf/xds, googleapis, protoc-gen-validate), the same its own xDS client is generated
// from; nothing is written by hand. Generated rather than loaded at run time so that the bundle in dist/
// carries it and the package stays a development dependency (it also brings an OAuth client and a
// WebAssembly RE2 that the server never uses).

import { execFileSync } from 'node:child_process';
import { accessSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

export const OUT = 'src/xds/envoy.gen.json';

/** The files whose messages are served: ADS itself, the four resource kinds, and the two Any payloads vsop writes. */
export const FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
];

/** The descriptor, as JSON text (stable: protobufjs keeps declaration order); written, then formatted by biome. */
export function generate(): string {
  const require = createRequire(import.meta.url);
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  // The validation annotations import google/protobuf/descriptor.proto: taken from protobufjs's bundled
  // copy, as @grpc/proto-loader does (it registers the same one when loaded), so the output does not
  // depend on whether proto-loader was loaded first.
  protobuf.common('descriptor', require('protobufjs/google/protobuf/descriptor.json').nested.google.nested.protobuf.nested);
  const dirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const d of dirs) {
      try {
        accessSync(join(d, target));
        return join(d, target);
      } catch {}
    }
    return target;
  };
  root.loadSync(FILES, { keepCase: true });
  root.resolveAll();
  const version = JSON.parse(readFileSync(join(deps, '..', 'package.json'), 'utf8')).version as string;
  return `${JSON.stringify({ generatedFrom: `@grpc/grpc-js-xds ${version}`, ...root.toJSON({ keepComments: false }) })}\n`;
}

if (import.meta.main) {
  writeFileSync(OUT, generate());
  execFileSync('npx', ['biome', 'format', '--write', OUT], { stdio: 'inherit' });
  process.stdout.write(`wrote ${OUT}\n`);
}
