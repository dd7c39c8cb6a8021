package istiocheck

// The status conditions Istio's gateway controller gives Gateway API routes
// (Accepted, ResolvedRefs, per parent): what tells a user that a route is
// refused, or that a backend it names cannot be used. istiod writes them to
// the cluster when it is the leader (Controller.SetStatusWrite with a
// status.Manager); here the manager writes them into memory instead.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"istio.io/istio/pilot/pkg/config/kube/gateway"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/status"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/test"
)

// RouteCondition is one condition of a route's status for one parent.
type RouteCondition struct {
	// Parent is "Kind/namespace/name" of the parentRef, with ":port" when it names one.
	Parent  string `json:"parent"`
	Type    string `json:"type"`   // Accepted | ResolvedRefs | ...
	Status  string `json:"status"` // True | False | Unknown
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// statusWaitTimeout bounds the wait for routes that get no status from
// Istio (e.g. whose parents are all another controller's).
const statusWaitTimeout = 3 * time.Second

// RouteConditions runs Istio's gateway controller (inside the fake discovery
// server) on objects: Services and Namespaces it looks up, Gateway API
// objects as gatewayKubeObject makes them. routes maps each route among them
// ("Kind/namespace/name") to its metadata.generation. It answers, per route,
// the conditions Istio would write on it.
func RouteConditions(t test.Failer, objects []runtime.Object, routes map[string]int64) (map[string][]RouteCondition, error) {
	server := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{KubernetesObjects: objects})
	controller, ok := server.Env().GatewayAPIController.(*gateway.Controller)
	if !ok {
		return nil, fmt.Errorf("the fake discovery server runs no Gateway API controller")
	}
	store := &statusStore{generations: routes, statuses: map[string]any{}}
	manager := status.NewManager(store)
	manager.Start(test.NewStop(t))
	controller.SetStatusWrite(true, manager)
	defer controller.SetStatusWrite(false, nil)
	deadline := time.Now().Add(statusWaitTimeout)
	for !store.complete() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	return store.conditions()
}

// statusStore is the part of a config store status.Manager uses: Get for the
// object's generation (a status is written only for the generation it was
// computed from) and UpdateStatus, kept here by "Kind/namespace/name".
// Generations are keyed the same way; they also list the routes awaited.
type statusStore struct {
	model.ConfigStore // nil: status.Manager calls only Get and UpdateStatus
	generations       map[string]int64
	mu                sync.Mutex
	statuses          map[string]any
}

func (s *statusStore) Get(typ config.GroupVersionKind, name, namespace string) *config.Config {
	return &config.Config{Meta: config.Meta{
		GroupVersionKind: typ, Name: name, Namespace: namespace,
		Generation: s.generations[typ.Kind+"/"+namespace+"/"+name],
	}}
}

func (s *statusStore) UpdateStatus(cfg config.Config) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses[cfg.GroupVersionKind.Kind+"/"+cfg.Namespace+"/"+cfg.Name] = cfg.Status
	return "", nil
}

func (s *statusStore) complete() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.generations {
		if s.statuses[k] == nil {
			return false
		}
	}
	return true
}

// routeStatus is the part of HTTPRouteStatus (and GRPCRouteStatus) read here.
type routeStatus struct {
	Parents []struct {
		ParentRef struct {
			Group     *string `json:"group"`
			Kind      *string `json:"kind"`
			Namespace *string `json:"namespace"`
			Name      string  `json:"name"`
			Port      *int32  `json:"port"`
		} `json:"parentRef"`
		Conditions []metav1.Condition `json:"conditions"`
	} `json:"parents"`
}

func (s *statusStore) conditions() (map[string][]RouteCondition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]RouteCondition{}
	for key, st := range s.statuses {
		data, err := json.Marshal(st)
		if err != nil {
			return nil, err
		}
		var rs routeStatus
		if err := json.Unmarshal(data, &rs); err != nil {
			return nil, fmt.Errorf("status of %s: %w", key, err)
		}
		routeNamespace := strings.SplitN(key, "/", 3)[1]
		for _, p := range rs.Parents {
			kind, ns := "Gateway", routeNamespace
			if p.ParentRef.Kind != nil {
				kind = *p.ParentRef.Kind
			}
			if p.ParentRef.Namespace != nil {
				ns = *p.ParentRef.Namespace
			}
			parent := kind + "/" + ns + "/" + p.ParentRef.Name
			if p.ParentRef.Port != nil {
				parent += fmt.Sprintf(":%d", *p.ParentRef.Port)
			}
			for _, c := range p.Conditions {
				out[key] = append(out[key], RouteCondition{Parent: parent, Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message})
			}
		}
		sort.SliceStable(out[key], func(i, j int) bool {
			a, b := out[key][i], out[key][j]
			if a.Parent != b.Parent {
				return a.Parent < b.Parent
			}
			return a.Type < b.Type
		})
	}
	return out, nil
}
