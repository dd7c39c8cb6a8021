// The gRPC servers the xDS tests and the xds bench route to: each answers one unary method with its own
// name, so a call says where the routing sent it. grpc-js's generic handlers, with bytes in and out (no
// .proto needed for a name).

import * as grpc from '@grpc/grpc-js';

const WHO = '/vsop.test.Echo/Who';

/** A gRPC server on `host` (a free port) answering WHO with `name`. */
export async function echoBackend(name: string, host = '127.0.0.1'): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.register(
    WHO,
    (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(name)),
    (b: Buffer) => b,
    (b: Buffer) => b,
    'unary',
  );
  const port = await new Promise<number>((res, rej) => server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { port, server };
}

/** One call through `client` (with the routing header `x-developer` if given): the name of the backend that answered; rejects with the call's error. */
export function who(client: grpc.Client, developer?: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((res, rej) => {
    const md = new grpc.Metadata();
    if (developer) md.set('x-developer', developer);
    client.makeUnaryRequest(
      WHO,
      (b: Buffer) => b,
      (b: Buffer) => b.toString(),
      Buffer.alloc(0),
      md,
      { deadline: Date.now() + timeoutMs },
      (err, v) => (err ? rej(err) : res(v!)),
    );
  });
}
