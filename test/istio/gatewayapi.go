package istiocheck

// Gateway API objects (HTTPRoute, ReferenceGrant, ...) as a real apiserver
// would hand them to Istio: checked and defaulted by the standard-channel
// CustomResourceDefinitions of the sigs.k8s.io/gateway-api release this
// module requires (v1.3.0, the one Istio 1.27 is built against), then read
// in the version Istio's gateway controller watches. The checks follow what
// kube-apiserver does on a create with fieldValidation=Strict, in the way
// Istio's own test validator does it (pkg/config/crd/validator.go): unknown
// fields, OpenAPI schema, list types, and the CRDs' CEL rules
// (x-kubernetes-validations).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pkg/config/schema/gvr"
	"istio.io/istio/pkg/kube"
)

// GatewayGroup is the API group of the Gateway API.
const GatewayGroup = "gateway.networking.k8s.io"

// The version of each kind Istio's gateway controller reads
// (pilot/pkg/config/kube/gateway/controller.go, through pkg/config/schema/gvr).
// A real apiserver serves every version of a kind from one stored object, and
// the standard CRDs convert between them with strategy None, so an HTTPRoute
// written as v1 is read by Istio as the same object in v1beta1.
var istioReadsVersion = map[string]string{
	"GatewayClass":   gvr.GatewayClass.Version,
	"Gateway":        gvr.KubernetesGateway.Version,
	"HTTPRoute":      gvr.HTTPRoute.Version,
	"GRPCRoute":      gvr.GRPCRoute.Version,
	"ReferenceGrant": gvr.ReferenceGrant.Version,
}

// crdVersion is what the apiserver knows of one served version of a CRD.
type crdVersion struct {
	validator  validation.SchemaCreateValidator
	structural *structuralschema.Structural
	cel        *cel.Validator // nil when the version has no CEL rules
}

var (
	gatewaySchemasOnce sync.Once
	gatewaySchemasVal  map[schema.GroupVersionKind]*crdVersion
	gatewaySchemasErr  error
)

// gatewaySchemas loads (once) the standard-channel CRDs; see gatewayCRDPaths.
func gatewaySchemas() (map[schema.GroupVersionKind]*crdVersion, error) {
	gatewaySchemasOnce.Do(func() {
		var files []string
		files, gatewaySchemasErr = gatewayCRDPaths()
		if gatewaySchemasErr == nil {
			gatewaySchemasVal, gatewaySchemasErr = loadCRDs(files)
		}
	})
	return gatewaySchemasVal, gatewaySchemasErr
}

// gatewayCRDPaths finds the Gateway API CRDs: $VSOP_GATEWAY_API_CRDS (a file
// or a directory of *.yaml); else crds/gateway-api-standard.yaml beside the
// binary's bin/ directory, where build.sh puts it; else, for `go test` in
// this module, config/crd/standard/ of the required module in Go's module cache.
func gatewayCRDPaths() ([]string, error) {
	path := os.Getenv("VSOP_GATEWAY_API_CRDS")
	if path == "" {
		if exe, err := os.Executable(); err == nil {
			beside := filepath.Join(filepath.Dir(exe), "..", "crds", "gateway-api-standard.yaml")
			if _, err := os.Stat(beside); err == nil {
				path = beside
			}
		}
	}
	if path == "" {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
		if err != nil || strings.TrimSpace(string(out)) == "" {
			return nil, fmt.Errorf("Gateway API CRDs not found: set VSOP_GATEWAY_API_CRDS, or run test/istio/build.sh (`go list -m sigs.k8s.io/gateway-api`: %v)", err)
		}
		path = filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("Gateway API CRDs: %w", err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	files, err := filepath.Glob(filepath.Join(path, "*.yaml"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no *.yaml in %s", path)
	}
	return files, err
}

// loadCRDs builds, per served version, the schema validator, the structural
// schema (pruning, defaulting, list types) and the CEL validator, as
// kube-apiserver's CRD handler does (and Istio's NewValidatorFromCRDs).
func loadCRDs(files []string) (map[schema.GroupVersionKind]*crdVersion, error) {
	out := map[schema.GroupVersionKind]*crdVersion{}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		dec := kubeyaml.NewYAMLOrJSONDecoder(f, 1<<20)
		for {
			var v1 apiextensionsv1.CustomResourceDefinition
			err := dec.Decode(&v1)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			if v1.Kind != "CustomResourceDefinition" {
				continue
			}
			var crd apiextensions.CustomResourceDefinition
			if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&v1, &crd, nil); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			for _, ver := range crd.Spec.Versions {
				// The conversion moves a schema all versions share to spec.validation.
				props := crd.Spec.Validation
				if ver.Schema != nil {
					props = ver.Schema
				}
				if !ver.Served || props == nil {
					continue
				}
				validator, _, err := validation.NewSchemaValidator(props.OpenAPIV3Schema)
				if err != nil {
					f.Close()
					return nil, fmt.Errorf("%s %s: %w", crd.Name, ver.Name, err)
				}
				structural, err := structuralschema.NewStructural(props.OpenAPIV3Schema)
				if err != nil {
					f.Close()
					return nil, fmt.Errorf("%s %s: %w", crd.Name, ver.Name, err)
				}
				gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: ver.Name, Kind: crd.Spec.Names.Kind}
				out[gvk] = &crdVersion{validator: validator, structural: structural, cel: cel.NewValidator(structural, true, celconfig.PerCallLimit)}
			}
		}
		f.Close()
	}
	return out, nil
}

// IsGatewayAPI says whether an apiVersion belongs to the Gateway API.
func IsGatewayAPI(apiVersion string) bool {
	group, _, _ := strings.Cut(apiVersion, "/")
	return group == GatewayGroup
}

// decodeObject reads one YAML document strictly (no duplicate keys) into the
// form the apiserver works on: JSON numbers become int64 where they are
// integers, which the schema and CEL rules (e.g. `has(self.port)` on an
// integer field) need.
func decodeObject(doc []byte) (map[string]any, error) {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	obj := map[string]any{}
	if err := utiljson.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// admitGatewayObject checks obj as the apiserver would on a strict create
// and, when it passes, fills in the CRD's defaults in place (the namespace
// defaults to "default"). It answers the problems found, one per field.
func admitGatewayObject(obj map[string]any) []string {
	un := &unstructured.Unstructured{Object: obj}
	schemas, err := gatewaySchemas()
	if err != nil {
		return []string{err.Error()}
	}
	gvk := un.GroupVersionKind()
	crd := schemas[gvk]
	if crd == nil {
		return []string{fmt.Sprintf("%s %s is not served by the Gateway API standard-channel CRDs (v1.3.0)", gvk.GroupVersion(), gvk.Kind)}
	}
	if un.GetNamespace() == "" {
		un.SetNamespace("default")
	}
	var problems []string
	for _, path := range structuralpruning.PruneWithOptions(un.DeepCopy().Object, crd.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		problems = append(problems, fmt.Sprintf("unknown field %q", path))
	}
	structuraldefaulting.Default(un.Object, crd.structural)
	errs := validation.ValidateCustomResource(nil, un.Object, crd.validator)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, crd.structural, un.Object)...)
	if crd.cel != nil {
		celErrs, _ := crd.cel.Validate(context.Background(), nil, crd.structural, un.Object, nil, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	for _, e := range errs {
		problems = append(problems, e.Error())
	}
	sort.Strings(problems)
	return problems
}

// gatewayKubeObject turns an admitted Gateway API object into the typed
// object Istio's gateway controller reads (see istioReadsVersion).
func gatewayKubeObject(obj map[string]any) (runtime.Object, error) {
	un := &unstructured.Unstructured{Object: obj}
	version, ok := istioReadsVersion[un.GetKind()]
	if !ok {
		return nil, fmt.Errorf("%s %s/%s: Istio's gateway controller does not read this kind", un.GetKind(), un.GetNamespace(), un.GetName())
	}
	copied := un.DeepCopy()
	copied.SetAPIVersion(GatewayGroup + "/" + version)
	data, err := json.Marshal(copied.Object)
	if err != nil {
		return nil, err
	}
	typed, _, err := kube.IstioCodec.UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s/%s: %w", un.GetKind(), un.GetNamespace(), un.GetName(), err)
	}
	return typed, nil
}
