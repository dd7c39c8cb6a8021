package istiocheck

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/hashicorp/go-multierror"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/schema/collections"
)

// ObjectReport is the validation verdict for one YAML document.
type ObjectReport struct {
	Source     string   `json:"source"`
	Index      int      `json:"index"` // 0-based, counting non-empty documents of Source
	APIVersion string   `json:"apiVersion,omitempty"`
	Kind       string   `json:"kind,omitempty"`
	Namespace  string   `json:"namespace,omitempty"`
	Name       string   `json:"name,omitempty"`
	Validated  bool     `json:"validated"` // false: not an Istio kind, nothing checked
	Errors     []string `json:"errors"`
	Warnings   []string `json:"warnings"`
}

// Validate checks every document of r the way `istioctl validate` does
// (istioctl/pkg/validate/validate.go at this Istio release): strict YAML,
// only apiVersion/kind/metadata/spec/status at the top level, a strict
// protobuf decode of spec, the namespace defaulted to "default", then the
// schema's own ValidateConfig, which runs validation.ValidateVirtualService
// for VirtualServices. Unlike istioctl it keeps warnings apart from errors
// and does not judge non-Istio kinds (istioctl calls an unnamed Service port
// an error; that is style advice, not validity).
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
		out := map[string]any{}
		if err := yaml.UnmarshalStrict(doc, &out); err != nil {
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
