package istiocheck

import (
	"reflect"
	"strings"
	"testing"
)

// The CRDs' defaults reach Istio as the apiserver would store them.
func TestGatewayDefaults(t *testing.T) {
	obj, err := decodeObject([]byte(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{group: "", kind: Service, name: web}]
  rules:
  - matches: [{headers: [{name: x-developer, value: dev-alice}]}]
    backendRefs: [{name: web, namespace: dev-alice, port: 80}]
  - backendRefs: [{name: web, port: 80}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if problems := admitGatewayObject(obj); len(problems) > 0 {
		t.Fatal(problems)
	}
	spec := obj["spec"].(map[string]any)
	rules := spec["rules"].([]any)
	got := []any{
		obj["metadata"].(map[string]any)["namespace"],
		rules[0].(map[string]any)["matches"].([]any)[0].(map[string]any)["headers"],
		rules[1].(map[string]any)["matches"],
		rules[1].(map[string]any)["backendRefs"].([]any)[0].(map[string]any)["weight"],
	}
	want := []any{
		"default",
		[]any{map[string]any{"name": "x-developer", "type": "Exact", "value": "dev-alice"}},
		[]any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}},
		int64(1),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %#v\nwant %#v", got, want)
	}
}

// Routes merged from HTTPRoutes whose names share a prefix are told apart
// by the rule index that ends Istio's route name.
func TestGatewayRouteOrigin(t *testing.T) {
	route := func(name, created, rule string) string {
		return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ` + name + `, namespace: default, creationTimestamp: "` + created + `"}
spec:
  parentRefs: [{group: "", kind: Service, name: my-app}]
  rules:
` + rule + `
---
`
	}
	configs := route("web", "2024-01-01T00:00:00Z", "  - backendRefs: [{name: my-app, port: 80}]") +
		route("web.v1", "2025-01-01T00:00:00Z", "  - matches: [{headers: [{name: x-developer, value: dev-alice}]}]\n    backendRefs: [{name: my-app, namespace: dev-alice, port: 80}]")
	host := "my-app.default.svc.cluster.local"
	calls := []CallInput{{Host: host, Port: 80, Headers: map[string]string{"x-developer": "dev-alice"}}, {Host: host, Port: 80}}
	res, err := Simulate(t, SimulateInput{Services: meshServices, VirtualServices: configs, Calls: calls})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		got = append(got, strings.Join([]string{r.Cluster, r.Route, r.Config, r.VirtualService}, " "))
	}
	want := []string{
		cluster("dev-alice") + " default.web.v1.0 HTTPRoute/default/web.v1 default/default~" + host,
		cluster("default") + " default.web.0 HTTPRoute/default/web default/default~" + host,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n %s\nwant\n %s", strings.Join(got, "\n "), strings.Join(want, "\n "))
	}
}

// An object the standard CRDs refuse stops the simulation, as the apiserver
// would have refused to store it.
func TestGatewayRefused(t *testing.T) {
	_, err := Simulate(t, SimulateInput{VirtualServices: `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: prod}
spec:
  parentRefs: [{group: "", kind: Service, name: web}]
  rules:
  - backendRefs: [{name: web}]
`})
	if err == nil || !strings.Contains(err.Error(), "Must have port for Service reference") {
		t.Errorf("got %v, want the CEL rule's message", err)
	}
	_, err = Simulate(t, SimulateInput{VirtualServices: `apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: web, namespace: prod}
spec: {}
`})
	if err == nil || !strings.Contains(err.Error(), "not served by the Gateway API standard-channel CRDs") {
		t.Errorf("got %v, want a refusal of an experimental kind", err)
	}
}
