package istiocheck

// The program is a Go test binary (`go test -c`, see build.sh) because
// Istio's simulation helpers take a *testing.T. TestMain turns it into a
// command:
//
//	istio-check validate [FILE...]   YAML from the files or stdin -> JSON report; exit 1 on any error
//	istio-check simulate             JSON SimulateInput on stdin -> JSON []CallResult
//
// Only the JSON goes to stdout; Istio's logs and the testing package's own
// lines go to stderr. Run as `go test` (no subcommand) it runs the unit tests.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"

	"istio.io/istio/pkg/log"
)

var (
	simulateRequested bool
	jsonOut           io.Writer
)

func TestMain(m *testing.M) {
	if len(os.Args) < 2 || (os.Args[1] != "validate" && os.Args[1] != "simulate") {
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
		os.Exit(runValidate(os.Args[2:]))
	}
	simulateRequested = true
	os.Args = []string{os.Args[0], "-test.run=^TestSimulate$", "-test.count=1"}
	os.Exit(m.Run())
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

func runValidate(files []string) int {
	var reports []ObjectReport
	if len(files) == 0 {
		reports = Validate(os.Stdin, "<stdin>")
	}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "istio-check:", err)
			return 2
		}
		reports = append(reports, Validate(r, f)...)
		r.Close()
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
