package istiocheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pilot/test/xdstest"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/constants"
	"istio.io/istio/pkg/config/schema/gvk"
	"istio.io/istio/pkg/kube"
)

// SimulateInput is what `istio-check simulate` reads as JSON on stdin.
type SimulateInput struct {
	// Services is multi-document YAML of Kubernetes objects (Services; a
	// Service without spec.clusterIP gets one from 10.96.0.0/16).
	Services string `json:"services"`
	// VirtualServices is multi-document YAML of routing config: Istio kinds
	// (VirtualService, DestinationRule, ...), which must pass Istio's
	// validation, and Gateway API kinds (HTTPRoute, ReferenceGrant, ...),
	// which must pass the standard CRDs' schema and CEL rules and are then
	// defaulted as the apiserver would (see gatewayapi.go).
	VirtualServices string      `json:"virtualServices"`
	Calls           []CallInput `json:"calls"`
}

// CallInput is one HTTP request sent by a sidecar in namespace From.
type CallInput struct {
	Host    string            `json:"host"` // Host header (:authority), e.g. "my-app" or "my-app.default.svc.cluster.local"
	Port    int               `json:"port"`
	Method  string            `json:"method,omitempty"` // :method, default "GET"
	Headers map[string]string `json:"headers,omitempty"`
	Path    string            `json:"path,omitempty"` // :path, default "/"; may carry "?query" (queryParams matches)
	From    string            `json:"from,omitempty"` // namespace of the calling sidecar, default "default"
}

// WeightedCluster is one branch of a route that splits traffic by weight.
type WeightedCluster struct {
	Cluster string `json:"cluster"`
	Weight  uint32 `json:"weight"`
}

// CallResult says where Envoy, configured by Istio for the calling sidecar,
// sends the call. Cluster is set for single-destination routes, Weights for
// routes that split by weight (then Cluster is empty).
type CallResult struct {
	Call        CallInput `json:"call"`
	Listener    string    `json:"listener,omitempty"`
	RouteConfig string    `json:"routeConfig,omitempty"`
	VirtualHost string    `json:"virtualHost,omitempty"`
	Route       string    `json:"route,omitempty"`
	// VirtualService is "namespace/name" of the VirtualService the route
	// came from (Istio's route metadata istio.config); "" for Istio's default
	// route of a Service without one. For a Gateway API route it is the
	// VirtualService Istio generated from it (pilot/pkg/config/kube/gateway,
	// route_collections.go): "<route namespace>/<route namespace>~<host>",
	// or "~<port>~" before the host for a parentRef with a port.
	VirtualService string `json:"virtualService,omitempty"`
	// Config names the object the route came from, "Kind/namespace/name":
	// "VirtualService/default/my-app", or "HTTPRoute/prod/web" for a route
	// Istio generated from an HTTPRoute; "" for a Service's default route.
	Config  string            `json:"config,omitempty"`
	Action  string            `json:"action,omitempty"` // route | redirect | directResponse | other
	Cluster string            `json:"cluster"`
	Weights []WeightedCluster `json:"weights,omitempty"`
	// MissingClusters are clusters the route sends to that Istio generated
	// no cluster for (e.g. a port the destination Service lacks, or a host
	// with no Service): Envoy answers those requests 503 (no cluster).
	MissingClusters []string `json:"missingClusters,omitempty"`
	Error           string   `json:"error,omitempty"`
}

// Simulate builds Istio's in-process discovery server (the fake used by
// Istio's own sidecar simulation tests) from the input, generates the xDS
// config of a sidecar in each calling namespace, and follows every call
// through it. pilot/pkg/simulation matches listener, filter chain and virtual
// host; its route matching ignores headers (see its TODO), so the route is
// chosen here, by Envoy's rules, from the virtual host it found.
func Simulate(t *testing.T, in SimulateInput) ([]CallResult, error) {
	configs, gatewayObjects, err := routingConfig(in.VirtualServices)
	if err != nil {
		return nil, fmt.Errorf("virtualServices: %w", err)
	}
	objects, services, err := kubeObjects(in.Services)
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	server := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{Configs: configs, KubernetesObjects: append(objects, gatewayObjects...)})
	origin := routeOrigin(server)
	sims := map[string]*simulation.Simulation{}
	results := make([]CallResult, 0, len(in.Calls))
	for _, call := range in.Calls {
		if call.From == "" {
			call.From = "default"
		}
		if call.Path == "" {
			call.Path = "/"
		}
		sim := sims[call.From]
		if sim == nil {
			proxy := server.SetupProxy(&model.Proxy{
				ConfigNamespace: call.From,
				Metadata:        &model.NodeMetadata{IstioVersion: "1.27.0"},
			})
			sim = simulation.NewSimulation(t, server, proxy)
			sims[call.From] = sim
		}
		results = append(results, runCall(sim, call, services, origin))
	}
	return results, nil
}

// routingConfig reads the config input: Istio kinds become configs of the
// fake server's store (after Istio's validation, as crd.ParseInputs does),
// Gateway API kinds become objects of its fake Kubernetes client, where
// Istio's gateway controller reads them, as istiod does from a cluster.
//
// A real apiserver stamps an object when it is created, so one given without
// metadata.creationTimestamp is taken as created now, after every stamped
// one, in document order. Istio orders VirtualServices by this time
// (pilot/pkg/model/config.go, sortConfigByCreationTime): for one host, the
// first a sidecar sees wins; HTTPRoutes merged into one generated
// VirtualService are ordered by it too (gateway/conversion.go,
// sortRoutesByCreationTime), and the generated one takes the oldest's.
func routingConfig(text string) ([]config.Config, []runtime.Object, error) {
	now := time.Now().Truncate(time.Second)
	reader := kubeyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(text)))
	var configs []config.Config
	var objects []runtime.Object
	for pos := 0; ; pos++ {
		doc, err := reader.Read()
		if err == io.EOF {
			return configs, objects, nil
		}
		if err != nil {
			return nil, nil, err
		}
		created := now.Add(time.Duration(pos) * time.Millisecond)
		var head struct {
			APIVersion string `json:"apiVersion"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", pos, err)
		}
		if IsGatewayAPI(head.APIVersion) {
			obj, err := admittedGatewayObject(doc, created)
			if err != nil {
				return nil, nil, err
			}
			objects = append(objects, obj)
			continue
		}
		parsed, _, err := crd.ParseInputs(string(doc))
		if err != nil {
			return nil, nil, err
		}
		for _, cfg := range parsed {
			if cfg.Namespace == "" {
				cfg.Namespace = "default"
			}
			if cfg.CreationTimestamp.IsZero() {
				cfg.CreationTimestamp = created
			}
			// What istiod's Kubernetes config controller sets (--domain); short
			// hosts such as "my-app" resolve against it.
			cfg.Domain = "cluster.local"
			configs = append(configs, cfg)
		}
	}
}

// admittedGatewayObject is one Gateway API document as Istio would read it
// from a real apiserver: refused when a strict create would be, defaulted
// otherwise, and stamped with created when it carries no creation time.
func admittedGatewayObject(doc []byte, created time.Time) (runtime.Object, error) {
	obj, err := decodeObject(doc)
	if err != nil {
		return nil, err
	}
	un := &unstructured.Unstructured{Object: obj}
	if problems := admitGatewayObject(obj); len(problems) > 0 {
		return nil, fmt.Errorf("%s %s/%s: configuration is invalid: %s", un.GetKind(), un.GetNamespace(), un.GetName(), strings.Join(problems, "; "))
	}
	typed, err := gatewayKubeObject(obj)
	if err != nil {
		return nil, err
	}
	if meta, ok := typed.(metav1.Object); ok && meta.GetCreationTimestamp().Time.IsZero() {
		meta.SetCreationTimestamp(metav1.NewTime(created))
	}
	return typed, nil
}

func runCall(sim *simulation.Simulation, call CallInput, services []*corev1.Service, origin func(*route.Route) (string, string)) CallResult {
	res := CallResult{Call: call}
	headers := http.Header{}
	for k, v := range call.Headers {
		headers.Set(k, v)
	}
	r := sim.Run(simulation.Call{
		Address:    clusterIP(call, services),
		Port:       call.Port,
		Path:       call.Path,
		Protocol:   simulation.HTTP,
		HostHeader: call.Host,
		Headers:    headers,
		CallMode:   simulation.CallModeOutbound,
	})
	res.Listener, res.RouteConfig, res.VirtualHost = r.ListenerMatched, r.RouteConfigMatched, r.VirtualHostMatched
	// Istio's own route matching looks at the path only, and without its
	// query string, so "no route" from it is not the last word once a virtual
	// host was found: the route is chosen below, by Envoy's rules.
	if r.Error != nil && !(errors.Is(r.Error, simulation.ErrNoRoute) && r.VirtualHostMatched != "" && r.RouteConfigMatched != "") {
		res.Error = r.Error.Error()
		return res
	}
	if r.RouteConfigMatched == "" {
		// An inline route config (not RDS) or a TCP proxy: nothing to match on.
		res.Action, res.Cluster = "route", r.ClusterMatched
		return res
	}
	if os.Getenv("VSOP_ISTIO_DEBUG") != "" {
		dumpRoutes(sim)
	}
	vh := findVirtualHost(xdstest.ExtractRouteConfigurations(sim.Routes)[r.RouteConfigMatched], r.VirtualHostMatched)
	if vh == nil {
		res.Error = fmt.Sprintf("virtual host %q not found in route config %q", r.VirtualHostMatched, r.RouteConfigMatched)
		return res
	}
	rt, err := matchRoute(vh.GetRoutes(), request{host: call.Host, method: call.Method, path: call.Path, headers: call.Headers})
	if err != nil {
		res.Error = err.Error()
		return res
	}
	if rt == nil {
		res.Error = simulation.ErrNoRoute.Error()
		return res
	}
	res.Route = rt.GetName()
	res.VirtualService, res.Config = origin(rt)
	describeAction(rt, &res)
	known := xdstest.ExtractClusters(sim.Clusters)
	for _, c := range append([]string{res.Cluster}, weightedNames(res.Weights)...) {
		if c != "" && known[c] == nil {
			res.MissingClusters = append(res.MissingClusters, c)
		}
	}
	return res
}

// routeOrigin answers, for a route Istio generated, the VirtualService it
// came from, read out of the metadata Istio attaches
// (pilot/pkg/networking/util/util.go AddConfigInfoMetadata:
// "/apis/GROUP/VERSION/namespaces/NS/virtual-service/NAME"), and the object
// behind it: that VirtualService, or for one Istio's gateway controller
// generated, the Gateway API route named in its internal.istio.io/parents
// annotation ("Kind/name.namespace", comma-separated when HTTPRoutes were
// merged) whose rules the route was made from: Istio names a rule's route
// "<namespace>.<name>.<rule index>" (gateway/conversion.go convertHTTPRoute;
// rule names are not in the standard channel).
func routeOrigin(server *xds.FakeDiscoveryServer) func(*route.Route) (string, string) {
	return func(rt *route.Route) (string, string) {
		cfg := rt.GetMetadata().GetFilterMetadata()["istio"].GetFields()["config"].GetStringValue()
		parts := strings.Split(cfg, "/")
		if len(parts) != 8 || parts[6] != "virtual-service" {
			return "", ""
		}
		ns, name := parts[5], parts[7]
		vs := ns + "/" + name
		gateway := server.Env().GatewayAPIController
		if gateway == nil {
			return vs, "VirtualService/" + vs
		}
		for _, generated := range gateway.List(gvk.VirtualService, ns) {
			if generated.Name != name {
				continue
			}
			parents := strings.Split(generated.Annotations[constants.InternalParentNames], ",")
			for _, parent := range parents {
				kind, nameNs, _ := strings.Cut(parent, "/")
				dot := strings.LastIndex(nameNs, ".")
				if dot < 0 {
					continue
				}
				rule, ok := strings.CutPrefix(rt.GetName(), nameNs[dot+1:]+"."+nameNs[:dot]+".")
				if _, err := strconv.Atoi(rule); ok && err == nil {
					return vs, kind + "/" + nameNs[dot+1:] + "/" + nameNs[:dot]
				}
			}
			return vs, strings.Join(parents, ",")
		}
		return vs, "VirtualService/" + vs
	}
}

func weightedNames(ws []WeightedCluster) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.Cluster)
	}
	return out
}

func describeAction(rt *route.Route, res *CallResult) {
	switch a := rt.GetAction().(type) {
	case *route.Route_Route:
		res.Action = "route"
		switch c := a.Route.GetClusterSpecifier().(type) {
		case *route.RouteAction_Cluster:
			res.Cluster = c.Cluster
		case *route.RouteAction_WeightedClusters:
			for _, w := range c.WeightedClusters.GetClusters() {
				res.Weights = append(res.Weights, WeightedCluster{Cluster: w.GetName(), Weight: w.GetWeight().GetValue()})
			}
		default:
			res.Error = fmt.Sprintf("unsupported cluster specifier %T", c)
		}
	case *route.Route_Redirect:
		res.Action = "redirect"
	case *route.Route_DirectResponse:
		res.Action = "directResponse"
	default:
		res.Action = "other"
	}
}

func findVirtualHost(rc *route.RouteConfiguration, name string) *route.VirtualHost {
	for _, vh := range rc.GetVirtualHosts() {
		if vh.GetName() == name {
			return vh
		}
	}
	return nil
}

// kubeObjects decodes multi-document YAML the way Istio's fake server does,
// giving Services without a cluster IP one, as a real apiserver would.
func kubeObjects(text string) ([]runtime.Object, []*corev1.Service, error) {
	reader := kubeyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(text)))
	var objects []runtime.Object
	var services []*corev1.Service
	for {
		doc, err := reader.Read()
		if err == io.EOF {
			return objects, services, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if yaml.Unmarshal(doc, &head) == nil && IsGatewayAPI(head.APIVersion) {
			return nil, nil, fmt.Errorf("%s belongs with the routing config (virtualServices), where it is checked and defaulted as the apiserver would", head.Kind)
		}
		obj, _, err := kube.IstioCodec.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			return nil, nil, err
		}
		if svc, ok := obj.(*corev1.Service); ok {
			if svc.Namespace == "" {
				svc.Namespace = "default"
			}
			if svc.Spec.ClusterIP == "" {
				svc.Spec.ClusterIP = fmt.Sprintf("10.96.%d.%d", len(services)/250, 1+len(services)%250)
			}
			services = append(services, svc)
		}
		objects = append(objects, obj)
	}
}

// clusterIP resolves the call's host as DNS in the caller's namespace would,
// so that the call reaches the service's own listener when it has one.
func clusterIP(call CallInput, services []*corev1.Service) string {
	host := call.Host
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	parts := strings.Split(host, ".")
	name, ns := parts[0], call.From
	if len(parts) > 1 {
		ns = parts[1]
	}
	if len(parts) > 2 && strings.Join(parts[2:], ".") != "svc" && strings.Join(parts[2:], ".") != "svc.cluster.local" {
		return "" // not a cluster-local name; simulation picks a default address
	}
	for _, s := range services {
		if s.Name == name && s.Namespace == ns && s.Spec.ClusterIP != corev1.ClusterIPNone {
			return s.Spec.ClusterIP
		}
	}
	return ""
}

// dumpRoutes prints every route Istio generated for the sidecar to stderr
// (VSOP_ISTIO_DEBUG=1), to see why a call went where it went.
func dumpRoutes(sim *simulation.Simulation) {
	for name, rc := range xdstest.ExtractRouteConfigurations(sim.Routes) {
		for _, vh := range rc.GetVirtualHosts() {
			fmt.Fprintf(os.Stderr, "debug: route config %q virtual host %q domains %v\n", name, vh.GetName(), vh.GetDomains())
			for _, rt := range vh.GetRoutes() {
				fmt.Fprintf(os.Stderr, "debug:   route %q match {%v} action {%v}\n", rt.GetName(), rt.GetMatch(), rt.GetAction())
			}
		}
	}
}
