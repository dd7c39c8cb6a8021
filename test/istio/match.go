package istiocheck

import (
	"fmt"
	"regexp"
	"strings"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// request is the part of an HTTP request that route matching looks at.
type request struct {
	host    string // the Host header as sent (Envoy's :authority), port included if the client sent one
	method  string // "" means GET
	path    string // the request target: path, optionally "?" and a query string
	headers map[string]string
}

// header returns the request's value of a header as Envoy sees it:
// names are case-insensitive and pseudo-headers come from the request line.
func (r request) header(name string) (string, bool) {
	switch strings.ToLower(name) {
	case ":authority", "host":
		return r.host, true
	case ":path":
		return r.path, true
	case ":method":
		if r.method == "" {
			return "GET", true
		}
		return r.method, true
	case ":scheme":
		return "http", true
	}
	for k, v := range r.headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// matchRoute returns the first route whose match accepts the request, as
// Envoy does. It supports everything Istio 1.27 generates from a
// VirtualService HTTPMatchRequest (pilot/pkg/networking/core/route/route.go,
// TranslateRouteMatch): uri (prefix, exact, regex, ignoreUriCase), headers and
// withoutHeaders (string matchers, present_match, invert_match with
// treat_missing_header_as_empty), method (:method), authority (:authority),
// scheme (:scheme) and queryParams (query_parameters). port, gateways,
// sourceLabels and sourceNamespace are applied by Istio itself when it builds
// the sidecar's routes. Anything else (runtime fraction, dynamic metadata
// from JWT claims, gRPC) is an error rather than a silent guess.
func matchRoute(routes []*route.Route, req request) (*route.Route, error) {
	for _, rt := range routes {
		ok, err := matches(rt.GetMatch(), req)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", rt.GetName(), err)
		}
		if ok {
			return rt, nil
		}
	}
	return nil, nil
}

func matches(m *route.RouteMatch, req request) (bool, error) {
	ok, err := matchPath(m, req.path)
	if !ok || err != nil {
		return false, err
	}
	if m.GetRuntimeFraction() != nil || len(m.GetDynamicMetadata()) > 0 || m.GetGrpc() != nil || m.GetTlsContext() != nil || len(m.GetFilterState()) > 0 {
		return false, fmt.Errorf("match on runtime fraction, dynamic metadata, gRPC, TLS context or filter state is not simulated")
	}
	for _, h := range m.GetHeaders() {
		ok, err := matchHeader(h, req)
		if !ok || err != nil {
			return false, err
		}
	}
	if len(m.GetQueryParameters()) == 0 {
		return true, nil
	}
	query := queryParams(req.path)
	for _, q := range m.GetQueryParameters() {
		ok, err := matchQueryParam(q, query)
		if !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

// queryParams parses the query string of a request target as Envoy's route
// matching does (Http::Utility::QueryParamsMulti::parseQueryString): split on
// "&", name and value split at the first "=", a name without "=" has the
// value "", nothing is percent-decoded, and the first value of a name counts
// (ConfigUtility::QueryParameterMatcher::matches). The fragment is not part of
// :path.
func queryParams(target string) map[string]string {
	_, query, ok := strings.Cut(target, "?")
	out := map[string]string{}
	if !ok {
		return out
	}
	for _, part := range strings.Split(query, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		if _, seen := out[name]; !seen {
			out[name] = value
		}
	}
	return out
}

// matchQueryParam follows Envoy's ConfigUtility::QueryParameterMatcher: a
// missing parameter never matches; present_match, or no matcher at all,
// accepts any value; otherwise the string matcher decides.
func matchQueryParam(q *route.QueryParameterMatcher, query map[string]string) (bool, error) {
	value, ok := query[q.GetName()]
	if !ok {
		return false, nil
	}
	switch s := q.GetQueryParameterMatchSpecifier().(type) {
	case nil:
		return true, nil
	case *route.QueryParameterMatcher_PresentMatch:
		return s.PresentMatch, nil
	case *route.QueryParameterMatcher_StringMatch:
		return matchString(s.StringMatch, value)
	default:
		return false, fmt.Errorf("query parameter matcher %T is not simulated", s)
	}
}

func matchPath(m *route.RouteMatch, path string) (bool, error) {
	if p, _, ok := strings.Cut(path, "?"); ok {
		path = p
	}
	fold := m.GetCaseSensitive() != nil && !m.GetCaseSensitive().GetValue()
	eq := func(a, b string) bool { return a == b || fold && strings.EqualFold(a, b) }
	switch ps := m.GetPathSpecifier().(type) {
	case *route.RouteMatch_Prefix:
		return len(path) >= len(ps.Prefix) && eq(path[:len(ps.Prefix)], ps.Prefix), nil
	case *route.RouteMatch_Path:
		return eq(path, ps.Path), nil
	case *route.RouteMatch_PathSeparatedPrefix:
		p := ps.PathSeparatedPrefix
		if len(path) < len(p) || !eq(path[:len(p)], p) {
			return false, nil
		}
		return len(path) == len(p) || path[len(p)] == '/', nil
	case *route.RouteMatch_SafeRegex:
		return fullMatch(ps.SafeRegex.GetRegex(), path)
	default:
		return false, fmt.Errorf("path specifier %T is not simulated", ps)
	}
}

// matchHeader follows Envoy's HeaderUtility::matchHeaders: a missing header
// fails every matcher except present_match (inverted or not), and
// invert_match flips the result of a header that is there.
func matchHeader(h *route.HeaderMatcher, req request) (bool, error) {
	value, present := req.header(h.GetName())
	if !present && h.GetTreatMissingHeaderAsEmpty() {
		value, present = "", true
	}
	_, isPresentMatch := h.GetHeaderMatchSpecifier().(*route.HeaderMatcher_PresentMatch)
	if !present {
		if h.GetInvertMatch() {
			return isPresentMatch && h.GetPresentMatch(), nil
		}
		return isPresentMatch && !h.GetPresentMatch(), nil
	}
	var ok bool
	var err error
	switch s := h.GetHeaderMatchSpecifier().(type) {
	case *route.HeaderMatcher_PresentMatch:
		ok = s.PresentMatch
	case *route.HeaderMatcher_StringMatch:
		ok, err = matchString(s.StringMatch, value)
	case *route.HeaderMatcher_ExactMatch:
		ok = value == s.ExactMatch
	case *route.HeaderMatcher_PrefixMatch:
		ok = strings.HasPrefix(value, s.PrefixMatch)
	case *route.HeaderMatcher_SuffixMatch:
		ok = strings.HasSuffix(value, s.SuffixMatch)
	case *route.HeaderMatcher_ContainsMatch:
		ok = strings.Contains(value, s.ContainsMatch)
	case *route.HeaderMatcher_SafeRegexMatch:
		ok, err = fullMatch(s.SafeRegexMatch.GetRegex(), value)
	default:
		err = fmt.Errorf("header matcher %T is not simulated", s)
	}
	return ok != h.GetInvertMatch(), err
}

func matchString(m *matcher.StringMatcher, value string) (bool, error) {
	v, fold := value, m.GetIgnoreCase()
	lower := func(s string) string {
		if fold {
			return strings.ToLower(s)
		}
		return s
	}
	switch p := m.GetMatchPattern().(type) {
	case *matcher.StringMatcher_Exact:
		return lower(v) == lower(p.Exact), nil
	case *matcher.StringMatcher_Prefix:
		return strings.HasPrefix(lower(v), lower(p.Prefix)), nil
	case *matcher.StringMatcher_Suffix:
		return strings.HasSuffix(lower(v), lower(p.Suffix)), nil
	case *matcher.StringMatcher_Contains:
		return strings.Contains(lower(v), lower(p.Contains)), nil
	case *matcher.StringMatcher_SafeRegex:
		return fullMatch(p.SafeRegex.GetRegex(), v) // Envoy ignores ignore_case for regexes
	default:
		return false, fmt.Errorf("string matcher %T is not simulated", p)
	}
}

// fullMatch is RE2 matching of the whole value, as Envoy's safe_regex does.
func fullMatch(re, value string) (bool, error) {
	r, err := regexp.Compile(`^(?:` + re + `)$`)
	if err != nil {
		return false, fmt.Errorf("regex %q: %w", re, err)
	}
	return r.MatchString(value), nil
}
