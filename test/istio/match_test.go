package istiocheck

import (
	"testing"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

func exact(name, value string) *route.HeaderMatcher {
	return &route.HeaderMatcher{Name: name, HeaderMatchSpecifier: &route.HeaderMatcher_StringMatch{
		StringMatch: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Exact{Exact: value}},
	}}
}

func present(name string, want bool) *route.HeaderMatcher {
	return &route.HeaderMatcher{Name: name, HeaderMatchSpecifier: &route.HeaderMatcher_PresentMatch{PresentMatch: want}}
}

func inverted(h *route.HeaderMatcher) *route.HeaderMatcher {
	h.InvertMatch = true
	return h
}

func TestMatchHeader(t *testing.T) {
	alice := request{headers: map[string]string{"X-Developer": "dev-alice"}}
	none := request{}
	cases := []struct {
		name string
		h    *route.HeaderMatcher
		req  request
		want bool
	}{
		{"exact hit, name case-insensitive", exact("x-developer", "dev-alice"), alice, true},
		{"exact miss", exact("x-developer", "dev-bob"), alice, false},
		{"exact on a missing header", exact("x-developer", "dev-alice"), none, false},
		{"inverted exact on a missing header still fails", inverted(exact("x-developer", "dev-bob")), none, false},
		{"inverted exact on another value", inverted(exact("x-developer", "dev-bob")), alice, true},
		{"present on a missing header", present("x-developer", true), none, false},
		{"absent (present=false) on a missing header", present("x-developer", false), none, true},
		{"inverted present on a missing header", inverted(present("x-developer", true)), none, true},
		{"authority pseudo-header", exact(":authority", "my-app"), request{host: "my-app"}, true},
	}
	for _, c := range cases {
		got, err := matchHeader(c.h, c.req)
		if err != nil || got != c.want {
			t.Errorf("%s: got %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

func TestMatchPath(t *testing.T) {
	prefix := &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/api"}}
	sep := &route.RouteMatch{PathSpecifier: &route.RouteMatch_PathSeparatedPrefix{PathSeparatedPrefix: "/api"}}
	regex := &route.RouteMatch{PathSpecifier: &route.RouteMatch_SafeRegex{SafeRegex: &matcher.RegexMatcher{Regex: "/v[0-9]"}}}
	cases := []struct {
		m    *route.RouteMatch
		path string
		want bool
	}{
		{prefix, "/api/health", true},
		{prefix, "/apix", true},
		{prefix, "/", false},
		{sep, "/apix", false},
		{sep, "/api/x?y=1", true},
		{regex, "/v1", true},
		{regex, "/v1/x", false}, // safe_regex matches the whole path
	}
	for _, c := range cases {
		got, err := matchPath(c.m, c.path)
		if err != nil || got != c.want {
			t.Errorf("%v on %q: got %v, %v; want %v", c.m.GetPathSpecifier(), c.path, got, err, c.want)
		}
	}
}

func TestQueryParams(t *testing.T) {
	q := func(name string, m *route.QueryParameterMatcher) *route.QueryParameterMatcher {
		m.Name = name
		return m
	}
	exactQ := func(v string) *route.QueryParameterMatcher {
		return &route.QueryParameterMatcher{QueryParameterMatchSpecifier: &route.QueryParameterMatcher_StringMatch{
			StringMatch: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Exact{Exact: v}},
		}}
	}
	presentQ := &route.QueryParameterMatcher{QueryParameterMatchSpecifier: &route.QueryParameterMatcher_PresentMatch{PresentMatch: true}}
	cases := []struct {
		m      *route.QueryParameterMatcher
		target string
		want   bool
	}{
		{q("dev", exactQ("alice")), "/p?dev=alice", true},
		{q("dev", exactQ("alice")), "/p?a=1&dev=alice&b", true},
		{q("dev", exactQ("alice")), "/p?dev=bob&dev=alice", false}, // the first value counts
		{q("dev", exactQ("alice")), "/p?dev=%61lice", false},       // not decoded
		{q("dev", exactQ("alice")), "/p", false},
		{q("dev", exactQ("")), "/p?dev", true}, // a name without "=" has the value ""
		{q("dev", presentQ), "/p?dev", true},
		{q("dev", presentQ), "/p?developer=1", false},
	}
	for _, c := range cases {
		got, err := matchQueryParam(c.m, queryParams(c.target))
		if err != nil || got != c.want {
			t.Errorf("%v on %q: got %v, %v; want %v", c.m, c.target, got, err, c.want)
		}
	}
}

func TestMethodDefaultsToGet(t *testing.T) {
	get := &route.HeaderMatcher{Name: ":method", HeaderMatchSpecifier: &route.HeaderMatcher_StringMatch{
		StringMatch: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Exact{Exact: "GET"}},
	}}
	if ok, _ := matchHeader(get, request{}); !ok {
		t.Error("a request without a method should be a GET")
	}
	if ok, _ := matchHeader(get, request{method: "POST"}); ok {
		t.Error("a POST matched :method exact GET")
	}
}
