// -validate-envoy: checks what vsop prints for Envoy against Envoy's own API, as Envoy loads it, with
// go-control-plane's generated types (the Envoy API's Go binding) instead of rules written here:
//
//   - the JSON is read with protojson, the proto3 JSON mapping's reference implementation, which refuses a
//     field the message does not have, an enum value it does not define, and an Any whose @type names a
//     message not linked in (the extensions Envoy would need are imported below);
//   - every message, and every message packed in an Any, then passes its protoc-gen-validate rules
//     (ValidateAll), as Envoy checks them on load (MessageUtil::validate).
//
// stdin holds either an Envoy bootstrap (`vsop xds bootstrap --envoy`) or `vsop xds render`'s output
// ({"resources": [...]}, each with its @type). It prints "ok", or each problem and exits 1.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

func validateEnvoy() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	var problems []string
	var shape struct {
		Resources []json.RawMessage `json:"resources"`
	}
	if err := json.Unmarshal(in, &shape); err != nil {
		fail(err)
	}
	if shape.Resources != nil {
		for i, raw := range shape.Resources {
			var packed anypb.Any
			if err := protojson.Unmarshal(raw, &packed); err != nil {
				problems = append(problems, fmt.Sprintf("resources[%d]: %v", i, err))
				continue
			}
			problems = append(problems, check(fmt.Sprintf("resources[%d]", i), &packed)...)
		}
	} else {
		var b bootstrapv3.Bootstrap
		if err := protojson.Unmarshal(in, &b); err != nil {
			problems = append(problems, fmt.Sprintf("bootstrap: %v", err))
		} else {
			problems = append(problems, check("bootstrap", &b)...)
		}
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Println(p)
		}
		os.Exit(1)
	}
	fmt.Println("ok")
}

// check runs m's validation rules (which cover the messages below it), then those of each message packed
// in an Any below it, which they do not.
func check(path string, m proto.Message) []string {
	if a, ok := m.(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			return []string{fmt.Sprintf("%s: %v", path, err)}
		}
		return check(path+"<"+string(inner.ProtoReflect().Descriptor().FullName())+">", inner)
	}
	var problems []string
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", path, err))
		}
	}
	return append(problems, packed(path, m)...)
}

// packed checks every Any below m.
func packed(path string, m proto.Message) []string {
	var problems []string
	visit := func(at string, sub proto.Message) {
		if _, ok := sub.(*anypb.Any); ok {
			problems = append(problems, check(at, sub)...)
		} else {
			problems = append(problems, packed(at, sub)...)
		}
	}
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		at := path + "." + string(fd.Name())
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				visit(fmt.Sprintf("%s[%d]", at, i), v.List().Get(i).Message().Interface())
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				visit(fmt.Sprintf("%s[%s]", at, k.String()), mv.Message().Interface())
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			visit(at, v.Message().Interface())
		}
		return true
	})
	return problems
}
