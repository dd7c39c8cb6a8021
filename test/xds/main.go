// xds-client: the end-to-end test's xDS client and backends (test/integration/xds.test.ts), built from
// grpc-go's own packages so that the client vsop serves is one nobody here wrote.
//
// It starts one gRPC server on loopback per -backends name (grpc.testing.TestService, answering UnaryCall
// with its name as server_id), prints "backend NAME PORT" for each, then reads commands from stdin and
// answers each with one JSON line:
//
//	call N TARGET [HEADER=VALUE]   N UnaryCalls through one channel per TARGET (kept between commands,
//	                               so configuration changes reach a client that keeps running);
//	                               {"counts":{"production":N,...},"errors":{"message":N}}
//
// The xDS bootstrap comes from GRPC_XDS_BOOTSTRAP_CONFIG, as grpc-go reads it.
//
// With -validate-envoy it checks a bootstrap or resources on stdin against Envoy's API instead (validate.go).
//
// The apiserver refuses loopback addresses in EndpointSlices, so the test's slices carry 192.0.2.1
// (TEST-NET-1, RFC 5737: documentation only, routed nowhere) and this client dials every backend on
// 127.0.0.1 at the port the slice names: what xDS delivered decides the port, so the backend reached.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	_ "google.golang.org/grpc/xds" // registers the xds:/// resolver and balancers
)

type backend struct {
	testgrpc.UnimplementedTestServiceServer
	name string
}

func (b *backend) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{ServerId: b.name}, nil
}

func main() {
	names := flag.String("backends", "", "comma-separated backend names to serve on loopback")
	validate := flag.Bool("validate-envoy", false, "check a bootstrap or resources on stdin against Envoy's API (validate.go), then exit")
	flag.Parse()
	if *validate {
		validateEnvoy()
		return
	}
	for _, name := range strings.Split(*names, ",") {
		if name == "" {
			continue
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fail(err)
		}
		s := grpc.NewServer()
		testgrpc.RegisterTestServiceServer(s, &backend{name: name})
		go s.Serve(lis)
		fmt.Printf("backend %s %d\n", name, lis.Addr().(*net.TCPAddr).Port)
	}
	fmt.Println("ready")
	conns := map[string]*grpc.ClientConn{}
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) < 3 || f[0] != "call" {
			out.Encode(map[string]string{"error": "usage: call N TARGET [HEADER=VALUE]"})
			continue
		}
		n, _ := strconv.Atoi(f[1])
		cc, ok := conns[f[2]]
		if !ok {
			var err error
			if cc, err = grpc.NewClient(f[2], grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithContextDialer(loopback)); err != nil {
				out.Encode(map[string]string{"error": err.Error()})
				continue
			}
			conns[f[2]] = cc
		}
		ctx := context.Background()
		if len(f) > 3 {
			kv := strings.SplitN(f[3], "=", 2)
			ctx = metadata.AppendToOutgoingContext(ctx, kv[0], kv[1])
		}
		counts, errs := map[string]int{}, map[string]int{}
		client := testgrpc.NewTestServiceClient(cc)
		for i := 0; i < n; i++ {
			c, cancel := context.WithTimeout(ctx, 10*time.Second)
			r, err := client.UnaryCall(c, &testpb.SimpleRequest{}, grpc.WaitForReady(true))
			cancel()
			if err != nil {
				errs[err.Error()]++
			} else {
				counts[r.GetServerId()]++
			}
		}
		out.Encode(map[string]any{"counts": counts, "errors": errs})
	}
}

// loopback dials 127.0.0.1 at the port of addr, whatever its host (see the package comment).
func loopback(ctx context.Context, addr string) (net.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	return (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", port))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
