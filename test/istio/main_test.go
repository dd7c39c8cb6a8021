package istiocheck

// The program is a Go test binary (`go test -c`, see build.sh) because
// Istio's simulation helpers take a *testing.T. TestMain turns it into a
// command:
//
//	istio-check validate [FILE...]   YAML from the files or stdin -> JSON report; exit 1 on any error
//	                                 (Gateway API routes also get the conditions Istio's
//	                                 gateway controller sets, judged against the Services
//	                                 of the same input)
//	istio-check simulate             JSON SimulateInput on stdin -> JSON []CallResult
//	istio-check simulate-batch [-parallel N]
//	                                 JSON []SimulateInput on stdin -> JSON [][]CallResult,
//	                                 one fake discovery server per input, N at a time
//	                                 (default 1); a case that fails gets its error in
//	                                 every CallResult and the others still run
//
// Only the JSON goes to stdout; Istio's logs and the testing package's own
// lines go to stderr. Run as `go test` (no subcommand) it runs the unit tests.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"istio.io/istio/pkg/log"
)

var (
	validateFiles     []string // set when run as `istio-check validate`
	validateCode      int
	simulateRequested bool
	batchRequested    bool
	batchWritten      bool
	jsonOut           io.Writer
)

func TestMain(m *testing.M) {
	if len(os.Args) < 2 || (os.Args[1] != "validate" && os.Args[1] != "simulate" && os.Args[1] != "simulate-batch") {
		os.Exit(m.Run())
	}
	out, err := stdoutForJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, "istio-check:", err)
		os.Exit(2)
	}
	jsonOut = out
	quietLogs()
	if os.Args[1] == "validate" {
		// A test too, since the route conditions come from a fake discovery server.
		validateFiles = append([]string{}, os.Args[2:]...)
		if len(validateFiles) == 0 {
			validateFiles = []string{"-"}
		}
		os.Args = []string{os.Args[0], "-test.run=^TestValidate$", "-test.count=1"}
		if code := m.Run(); code != 0 {
			os.Exit(code)
		}
		os.Exit(validateCode)
	}
	if os.Args[1] == "simulate-batch" {
		parallel, err := parallelFlag(os.Args[2:])
		if err != nil {
			fmt.Fprintln(os.Stderr, "istio-check simulate-batch:", err)
			os.Exit(2)
		}
		batchRequested = true
		os.Args = []string{os.Args[0], "-test.run=^TestSimulateBatch$", "-test.count=1", "-test.parallel=" + strconv.Itoa(parallel)}
		code := m.Run()
		if batchWritten {
			code = 0 // failed cases are reported in their results
		}
		os.Exit(code)
	}
	simulateRequested = true
	os.Args = []string{os.Args[0], "-test.run=^TestSimulate$", "-test.count=1"}
	os.Exit(m.Run())
}

// parallelFlag reads "-parallel N" or "-parallel=N" (default 1).
func parallelFlag(args []string) (int, error) {
	value := "1"
	switch {
	case len(args) == 0:
	case len(args) == 2 && args[0] == "-parallel":
		value = args[1]
	case len(args) == 1 && strings.HasPrefix(args[0], "-parallel="):
		value = strings.TrimPrefix(args[0], "-parallel=")
	default:
		return 0, fmt.Errorf("usage: istio-check simulate-batch [-parallel N]; got %q", args)
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("-parallel wants a positive integer, got %q", value)
	}
	return n, nil
}

// stdoutForJSON keeps the real stdout for the JSON answer and points file
// descriptor 1 at stderr, so nothing else can end up in the answer.
func stdoutForJSON() (*os.File, error) {
	fd, err := syscall.Dup(1)
	if err != nil {
		return nil, err
	}
	if err := syscall.Dup3(2, 1, 0); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "stdout"), nil
}

func quietLogs() {
	opts := log.DefaultOptions()
	opts.OutputPaths = []string{"stderr"}
	_ = log.Configure(opts)
	for _, s := range log.Scopes() {
		s.SetOutputLevel(log.ErrorLevel)
	}
}

func TestValidate(t *testing.T) {
	if validateFiles == nil {
		t.Skip("only run as `istio-check validate`")
	}
	validateCode = runValidate(t, validateFiles)
}

func runValidate(t *testing.T, files []string) int {
	var reports []ObjectReport
	for _, f := range files {
		if f == "-" {
			reports = append(reports, Validate(os.Stdin, "<stdin>")...)
			continue
		}
		r, err := os.Open(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "istio-check:", err)
			return 2
		}
		reports = append(reports, Validate(r, f)...)
		r.Close()
	}
	if err := AddRouteConditions(t, reports); err != nil {
		fmt.Fprintln(os.Stderr, "istio-check:", err)
		return 2
	}
	if err := json.NewEncoder(jsonOut).Encode(map[string]any{"objects": reports}); err != nil {
		fmt.Fprintln(os.Stderr, "istio-check:", err)
		return 2
	}
	for _, r := range reports {
		if len(r.Errors) > 0 {
			return 1
		}
	}
	return 0
}

func TestSimulate(t *testing.T) {
	if !simulateRequested {
		t.Skip("only run as `istio-check simulate`")
	}
	var in SimulateInput
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		t.Fatalf("reading SimulateInput JSON from stdin: %v", err)
	}
	results, err := Simulate(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewEncoder(jsonOut).Encode(results); err != nil {
		t.Fatal(err)
	}
}

// TestSimulateBatch runs every SimulateInput on a fake discovery server of its
// own (Istio's fake keeps global-free state per server, so cases cannot leak
// into each other), as parallel subtests when -test.parallel > 1. Cleanups of
// a case run when its subtest ends, so memory stays bounded.
func TestSimulateBatch(t *testing.T) {
	if !batchRequested {
		t.Skip("only run as `istio-check simulate-batch`")
	}
	var inputs []SimulateInput
	if err := json.NewDecoder(os.Stdin).Decode(&inputs); err != nil {
		t.Fatalf("reading []SimulateInput JSON from stdin: %v", err)
	}
	results := make([][]CallResult, len(inputs))
	t.Run("cases", func(t *testing.T) {
		for i, in := range inputs {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				res, err := Simulate(t, in)
				if err != nil {
					results[i] = failedCalls(in, err.Error())
					return
				}
				results[i] = res
			})
		}
	})
	for i, in := range inputs {
		if results[i] == nil {
			results[i] = failedCalls(in, fmt.Sprintf("simulation of case %d failed inside Istio's fake server (its log is on stderr)", i))
		}
	}
	if err := json.NewEncoder(jsonOut).Encode(results); err != nil {
		t.Fatal(err)
	}
	batchWritten = true
}

// failedCalls gives every call of a case the case's error.
func failedCalls(in SimulateInput, msg string) []CallResult {
	out := make([]CallResult, 0, len(in.Calls))
	for _, c := range in.Calls {
		out = append(out, CallResult{Call: c, Error: msg})
	}
	return out
}
