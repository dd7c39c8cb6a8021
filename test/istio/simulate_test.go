package istiocheck

// End-to-end checks of Simulate against Istio's own config generation, with
// expectations written by hand from Istio's documented rules (and the source
// named next to each case). Run: go test ./... in test/istio, or
// `istio-check -test.run 'TestSimulate[A-Z]'` with the built binary.

import (
	"fmt"
	"strings"
	"testing"
)

const meshServices = `
apiVersion: v1
kind: Service
metadata: {name: my-app, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: my-app, namespace: dev-alice}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: my-app, namespace: dev-bob}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: team-x}
spec: {ports: [{name: http, port: 80}]}
`

// vs is a VirtualService for my-app (short host, so in namespace default it
// means my-app.default.svc.cluster.local) sending everything to one
// namespace's copy. extra is raw YAML lines placed under spec.
func vs(namespace, name, created, to string, extra ...string) string {
	ts := ""
	if created != "" {
		ts = "\n  creationTimestamp: " + created
	}
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: %s
  namespace: %s%s
spec:
  hosts: [my-app.default.svc.cluster.local]
%s
  http:
  - route:
    - destination: {host: my-app.%s.svc.cluster.local}
---
`, name, namespace, ts, strings.Join(extra, "\n"), to)
}

func cluster(ns string) string { return "outbound|80||my-app." + ns + ".svc.cluster.local" }

type simCase struct {
	name string
	vses []string
	call CallInput
	want string // Envoy cluster, or "error: <substring>"
}

func runSimCases(t *testing.T, cases []simCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.call.Host == "" {
				c.call.Host = "my-app.default.svc.cluster.local"
			}
			if c.call.Port == 0 {
				c.call.Port = 80
			}
			res, err := Simulate(t, SimulateInput{Services: meshServices, VirtualServices: strings.Join(c.vses, ""), Calls: []CallInput{c.call}})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Route != "" && res[0].Route != "default" && !strings.Contains(res[0].VirtualService, "/") {
				t.Errorf("route %q without its VirtualService (%q)", res[0].Route, res[0].VirtualService)
			}
			got := res[0].Cluster
			if res[0].Error != "" {
				got = "error: " + res[0].Error
			}
			if want, ok := strings.CutPrefix(c.want, "error: "); ok {
				if !strings.Contains(got, want) {
					t.Errorf("got %q, want an error containing %q", got, want)
				}
			} else if got != c.want {
				t.Errorf("got %q (route %q), want %q", got, res[0].Route, c.want)
			}
		})
	}
}

// Which VirtualService a sidecar uses for a host: pilot/pkg/model/push_context.go
// (initVirtualServices, VirtualServicesForGateway: the caller's own private
// ones, then those exported to its namespace, then public ones, each list by
// creation time, pilot/pkg/model/config.go sortConfigByCreationTime, ties by
// name then namespace); the first for a host wins (route.go, one virtual host
// per host name).
func TestSimulateVirtualServicePrecedence(t *testing.T) {
	old, young := "2020-01-01T00:00:00Z", "2024-01-01T00:00:00Z"
	runSimCases(t, []simCase{
		// Names chosen so that name order and creation order disagree.
		{"older wins in one namespace", []string{vs("default", "a-young", young, "dev-bob"), vs("default", "z-old", old, "dev-alice")}, CallInput{}, cluster("dev-alice")},
		{"older wins, timestamps swapped", []string{vs("default", "a-young", old, "dev-bob"), vs("default", "z-old", young, "dev-alice")}, CallInput{}, cluster("dev-bob")},
		{"equal times: name order", []string{vs("default", "z", old, "dev-alice"), vs("default", "a", old, "dev-bob")}, CallInput{}, cluster("dev-bob")},
		{"without timestamps: document order", []string{vs("default", "z", "", "dev-alice"), vs("default", "a", "", "dev-bob")}, CallInput{}, cluster("dev-alice")},
		{"older public one in another namespace wins", []string{vs("default", "mine", young, "dev-bob"), vs("team-x", "theirs", old, "dev-alice")}, CallInput{}, cluster("dev-alice")},
		{"gateway-only VirtualService is not used by sidecars", []string{vs("default", "gw", old, "dev-alice", "  gateways: [istio-system/public-gw]"), vs("default", "mesh", young, "dev-bob")}, CallInput{}, cluster("dev-bob")},
		{"gateways listing mesh applies to sidecars", []string{vs("default", "both", old, "dev-alice", "  gateways: [mesh, istio-system/public-gw]"), vs("default", "mesh", young, "dev-bob")}, CallInput{}, cluster("dev-alice")},
		{"only a gateway-bound one: no VirtualService, default route", []string{vs("default", "gw", old, "dev-alice", "  gateways: [istio-system/public-gw]")}, CallInput{}, cluster("default")},
		{"exportTo '.' is invisible from another namespace", []string{vs("default", "private", old, "dev-alice", "  exportTo: [.]"), vs("default", "public", young, "dev-bob")}, CallInput{From: "team-x"}, cluster("dev-bob")},
		{"exportTo '.' applies in its own namespace", []string{vs("default", "private", old, "dev-alice", "  exportTo: [.]"), vs("default", "public", young, "dev-bob")}, CallInput{From: "default"}, cluster("dev-alice")},
		{"caller's private one beats an older public one", []string{vs("default", "public", old, "dev-bob"), vs("team-x", "private", young, "dev-alice", "  exportTo: [.]")}, CallInput{From: "team-x"}, cluster("dev-alice")},
		{"exported to the caller's namespace beats an older public one", []string{vs("default", "public", old, "dev-bob"), vs("dev-bob", "exp", young, "dev-alice", "  exportTo: [team-x]")}, CallInput{From: "team-x"}, cluster("dev-alice")},
		{"exportTo another namespace is invisible to others", []string{vs("default", "public", young, "dev-bob"), vs("dev-bob", "exp", old, "dev-alice", "  exportTo: [team-x]")}, CallInput{From: "default"}, cluster("dev-bob")},
	})
}

// Short host names resolve in the VirtualService's own namespace
// (pilot/pkg/model/push_context.go resolveVirtualServiceShortnames).
func TestSimulateShortHosts(t *testing.T) {
	short := func(namespace, to string) string {
		return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: short, namespace: %s}
spec:
  hosts: [my-app]
  http:
  - route:
    - destination: {host: my-app.%s.svc.cluster.local}
---
`, namespace, to)
	}
	runSimCases(t, []simCase{
		{"my-app in default means my-app.default", []string{short("default", "dev-alice")}, CallInput{}, cluster("dev-alice")},
		{"my-app in team-x is another host", []string{short("team-x", "dev-alice")}, CallInput{}, cluster("default")},
		{"short Host header from the caller's namespace", []string{short("default", "dev-alice")}, CallInput{Host: "my-app", From: "default"}, cluster("dev-alice")},
	})
}

// Every request attribute a VirtualService can match on, as Istio translates
// it (pilot/pkg/networking/core/route/route.go TranslateRouteMatch) and Envoy
// evaluates it; and the catch-all cut (BuildHTTPRoutesForVirtualService,
// IsCatchAllRoute).
func TestSimulateMatches(t *testing.T) {
	routes := func(http string) []string {
		return []string{`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: m, namespace: default}
spec:
  hosts: [my-app]
  http:
` + http + `
  - route:
    - destination: {host: my-app.default.svc.cluster.local}
`}
	}
	toAlice := "\n    route:\n    - destination: {host: my-app.dev-alice.svc.cluster.local}"
	method := routes("  - match: [{method: {exact: POST}}]" + toAlice)
	query := routes("  - match: [{queryParams: {dev: {exact: alice}}}]" + toAlice)
	queryPresent := routes("  - match: [{queryParams: {debug: {}}}]" + toAlice)
	queryRegex := routes("  - match: [{queryParams: {v: {regex: \"[0-9]+\"}}}]" + toAlice)
	authority := routes("  - match: [{authority: {prefix: my-app.default}}]" + toAlice)
	without := routes("  - match: [{withoutHeaders: {x-developer: {exact: dev-bob}}}]" + toAlice)
	withoutPresent := routes("  - match: [{withoutHeaders: {x-developer: {}}}]" + toAlice)
	ignoreCase := routes("  - match: [{uri: {prefix: /API}, ignoreUriCase: true}]" + toAlice)
	exactURI := routes("  - match: [{uri: {exact: /x}}]" + toAlice)
	portMatch := routes("  - match: [{port: 8080}]" + toAlice)
	srcNs := routes("  - match: [{sourceNamespace: team-x}]" + toAlice)
	catchAllRegex := []string{`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: m, namespace: default}
spec:
  hosts: [my-app]
  http:
  - match: [{uri: {regex: ".*"}}]
    route:
    - destination: {host: my-app.default.svc.cluster.local}
  - match: [{headers: {x-developer: {exact: dev-alice}}}]` + toAlice + "\n"}
	prod, alice := cluster("default"), cluster("dev-alice")
	runSimCases(t, []simCase{
		{"method POST", method, CallInput{Method: "POST"}, alice},
		{"method GET by default", method, CallInput{}, prod},
		{"query exact", query, CallInput{Path: "/a?x=1&dev=alice"}, alice},
		{"query exact, other value", query, CallInput{Path: "/a?dev=alicex"}, prod},
		{"query is not decoded", query, CallInput{Path: "/a?dev=%61lice"}, prod},
		{"query first value counts", query, CallInput{Path: "/a?dev=bob&dev=alice"}, prod},
		{"query missing", query, CallInput{Path: "/a"}, prod},
		{"query {} is present_match", queryPresent, CallInput{Path: "/?debug"}, alice},
		{"query present, absent", queryPresent, CallInput{Path: "/?x=debug"}, prod},
		{"query regex matches the whole value", queryRegex, CallInput{Path: "/?v=12"}, alice},
		{"query regex, partial", queryRegex, CallInput{Path: "/?v=12a"}, prod},
		{"authority prefix on the Host header", authority, CallInput{Host: "my-app.default.svc.cluster.local"}, alice},
		{"authority prefix, short Host header", authority, CallInput{Host: "my-app", From: "default"}, prod},
		{"withoutHeaders: header missing is treated as empty", without, CallInput{}, alice},
		{"withoutHeaders: other value", without, CallInput{Headers: map[string]string{"x-developer": "dev-carol"}}, alice},
		{"withoutHeaders: excluded value", without, CallInput{Headers: map[string]string{"x-developer": "dev-bob"}}, prod},
		{"withoutHeaders present: missing", withoutPresent, CallInput{}, alice},
		{"withoutHeaders present: there", withoutPresent, CallInput{Headers: map[string]string{"x-developer": ""}}, prod},
		{"ignoreUriCase", ignoreCase, CallInput{Path: "/api/x"}, alice},
		{"exact uri ignores the query", exactURI, CallInput{Path: "/x?y=1"}, alice},
		{"exact uri, other path", exactURI, CallInput{Path: "/x/"}, prod},
		{"port match, other port", portMatch, CallInput{}, prod},
		{"sourceNamespace, other caller", srcNs, CallInput{From: "default"}, prod},
		{"sourceNamespace, that caller", srcNs, CallInput{From: "team-x"}, alice},
		{"regex .* is a catch-all: nothing after it", catchAllRegex, CallInput{Headers: map[string]string{"x-developer": "dev-alice"}}, prod},
	})
}

// A route to a port the destination Service lacks names a cluster Istio does
// not generate (pilot/pkg/networking/core/cluster.go builds one per Service
// port): Envoy answers 503.
func TestSimulateMissingCluster(t *testing.T) {
	in := SimulateInput{Services: meshServices, VirtualServices: `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: m, namespace: default}
spec:
  hosts: [my-app]
  http:
  - match: [{headers: {x-developer: {exact: dev-alice}}}]
    route:
    - destination: {host: my-app.dev-alice.svc.cluster.local, port: {number: 9090}}
  - route:
    - destination: {host: my-app.default.svc.cluster.local}
`, Calls: []CallInput{{Host: "my-app", Port: 80, Headers: map[string]string{"x-developer": "dev-alice"}}, {Host: "my-app", Port: 80}}}
	res, err := Simulate(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res[0].MissingClusters, []string{"outbound|9090||my-app.dev-alice.svc.cluster.local"}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("missing clusters %v, want %v", got, want)
	}
	if len(res[1].MissingClusters) != 0 {
		t.Errorf("production's cluster reported missing: %v", res[1].MissingClusters)
	}
}
