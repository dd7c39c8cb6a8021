package istiocheck

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/hashicorp/go-multierror"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"

	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/kube"
	"istio.io/istio/pkg/test"
)

// ObjectReport is the validation verdict for one YAML document.
type ObjectReport struct {
	Source     string   `json:"source"`
	Index      int      `json:"index"` // 0-based, counting non-empty documents of Source
	APIVersion string   `json:"apiVersion,omitempty"`
	Kind       string   `json:"kind,omitempty"`
	Namespace  string   `json:"namespace,omitempty"`
	Name       string   `json:"name,omitempty"`
	Validated  bool     `json:"validated"` // false: neither an Istio nor a Gateway API kind, nothing checked
	Errors     []string `json:"errors"`
	Warnings   []string `json:"warnings"`
	// Conditions are those Istio's gateway controller sets on a Gateway API
	// route (see AddRouteConditions).
	Conditions []RouteCondition `json:"conditions,omitempty"`

	object map[string]any // the document, defaulted when it is a valid Gateway API object
}

// Validate checks every document of r the way `istioctl validate` does
// (istioctl/pkg/validate/validate.go at this Istio release): strict YAML,
// only apiVersion/kind/metadata/spec/status at the top level, a strict
// protobuf decode of spec, the namespace defaulted to "default", then the
// schema's own ValidateConfig, which runs validation.ValidateVirtualService
// for VirtualServices. Unlike istioctl it keeps warnings apart from errors
// and does not judge non-Istio kinds (istioctl calls an unnamed Service port
// an error; that is style advice, not validity).
//
// Gateway API kinds, which Istio does not validate by itself (istioctl
// validate skips them: the apiserver does), are checked against the Gateway
// API standard CRDs as a strict create on the apiserver would be: unknown
// fields, schema, list types and CEL rules (see gatewayapi.go).
func Validate(r io.Reader, source string) []ObjectReport {
	reader := kubeyaml.NewYAMLReader(bufio.NewReader(r))
	reports := []ObjectReport{}
	for {
		doc, err := reader.Read()
		if err == io.EOF {
			return reports
		}
		rep := ObjectReport{Source: source, Index: len(reports), Errors: []string{}, Warnings: []string{}}
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("cannot split YAML documents: %v", err))
			return append(reports, rep)
		}
		out, err := decodeObject(doc)
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("cannot decode YAML: %v", err))
			reports = append(reports, rep)
			continue
		}
		if len(out) == 0 {
			continue // an empty document, e.g. only comments, is not an object
		}
		validateObject(&unstructured.Unstructured{Object: out}, &rep)
		reports = append(reports, rep)
	}
}

func validateObject(un *unstructured.Unstructured, rep *ObjectReport) {
	rep.APIVersion, rep.Kind = un.GetAPIVersion(), un.GetKind()
	rep.Namespace, rep.Name = un.GetNamespace(), un.GetName()
	rep.object = un.Object
	if IsGatewayAPI(rep.APIVersion) {
		rep.Validated = true
		rep.Errors = append(rep.Errors, admitGatewayObject(un.Object)...)
		rep.Namespace = un.GetNamespace()
		return
	}
	gvk := un.GroupVersionKind()
	schema, ok := collections.Pilot.FindByGroupVersionAliasesKind(config.GroupVersionKind{
		Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
	})
	if !ok {
		return
	}
	rep.Validated = true
	for key := range un.Object {
		switch key {
		case "apiVersion", "kind", "metadata", "spec", "status":
		default:
			rep.Errors = append(rep.Errors, fmt.Sprintf("unknown field %q", key))
		}
	}
	specJSON, err := json.Marshal(un.Object["spec"])
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("cannot encode spec: %v", err))
		return
	}
	spec, err := schema.NewInstance()
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("cannot create %s: %v", gvk.Kind, err))
		return
	}
	if err := config.ApplyJSONStrict(spec, string(specJSON)); err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("cannot parse proto message: %v", err))
		return
	}
	if rep.Namespace == "" {
		rep.Namespace = "default"
	}
	cfg := config.Config{
		Meta: config.Meta{
			GroupVersionKind: schema.GroupVersionKind(),
			Name:             un.GetName(),
			Namespace:        rep.Namespace,
			Labels:           un.GetLabels(),
			Annotations:      un.GetAnnotations(),
		},
		Spec: spec,
	}
	warning, err := schema.ValidateConfig(cfg)
	rep.Errors = append(rep.Errors, flatten(err)...)
	rep.Warnings = append(rep.Warnings, flatten(warning)...)
}

// flatten turns Istio's multierror values into one message per problem.
func flatten(err error) []string {
	if err == nil {
		return nil
	}
	var merr *multierror.Error
	if errors.As(err, &merr) {
		var out []string
		for _, e := range merr.Errors {
			out = append(out, flatten(e)...)
		}
		sort.Strings(out)
		return out
	}
	return []string{err.Error()}
}

// AddRouteConditions judges the valid Gateway API routes among reports as
// Istio's gateway controller does (RouteConditions), against the Services,
// Namespaces and Gateway API objects of the same reports, which stand for the
// whole cluster: a route naming a Service that is not among them gets
// "not found". Each condition is added to the route's report, and one that is
// False is an error, since the route, or the part the condition is about, is
// not served: "parent Service/prod/web: ResolvedRefs is False (BackendNotFound): ...".
func AddRouteConditions(t test.Failer, reports []ObjectReport) error {
	var objects []runtime.Object
	routes := map[string]int64{}
	for _, rep := range reports {
		if rep.object == nil || len(rep.Errors) > 0 {
			continue
		}
		un := &unstructured.Unstructured{Object: rep.object}
		var obj runtime.Object
		var err error
		switch {
		case IsGatewayAPI(rep.APIVersion):
			obj, err = gatewayKubeObject(rep.object)
			if rep.Kind == "HTTPRoute" || rep.Kind == "GRPCRoute" {
				routes[rep.Kind+"/"+un.GetNamespace()+"/"+un.GetName()] = un.GetGeneration()
			}
		case rep.APIVersion == "v1" && (rep.Kind == "Service" || rep.Kind == "Namespace"):
			obj, err = kubeObject(rep.object)
		default:
			continue
		}
		if err != nil {
			return err
		}
		objects = append(objects, obj)
	}
	if len(routes) == 0 {
		return nil
	}
	conditions, err := RouteConditions(t, objects, routes)
	if err != nil {
		return err
	}
	for i := range reports {
		rep := &reports[i]
		rep.Conditions = conditions[rep.Kind+"/"+rep.Namespace+"/"+rep.Name]
		for _, c := range rep.Conditions {
			if c.Status == string(metav1.ConditionFalse) {
				rep.Errors = append(rep.Errors, fmt.Sprintf("parent %s: %s is False (%s): %s", c.Parent, c.Type, c.Reason, c.Message))
			}
		}
	}
	return nil
}

// kubeObject decodes a Kubernetes object as Istio's fake server does.
func kubeObject(object map[string]any) (runtime.Object, error) {
	data, err := json.Marshal(object)
	if err != nil {
		return nil, err
	}
	obj, _, err := kube.IstioCodec.UniversalDeserializer().Decode(data, nil, nil)
	return obj, err
}
