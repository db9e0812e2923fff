package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
)

// Memory is measured in a fresh process (memory a process once held stays
// in its high-water mark, and the allocator's), so BenchmarkSlab and
// BenchmarkPeakRSS start this test binary again as a child that runs one
// probe instead of the benchmarks (TestMain) and prints its report.

// childReportHead starts the line of the child's stdout that holds its
// report: the library may print there too.
const childReportHead = "BENCH_PROBE_REPORT: "

// runChild runs a child with env added to this process's environment and
// decodes its report into report; what names the probe in errors.
func runChild(what string, env []string, report any) error {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", what, err, stderr.Bytes())
	}
	_, js, ok := bytes.Cut(out, []byte(childReportHead))
	if !ok {
		return fmt.Errorf("%s: no report in %q\n%s", what, out, stderr.Bytes())
	}
	if err := json.Unmarshal(js, report); err != nil {
		return fmt.Errorf("%s: report %q: %v", what, js, err)
	}
	return nil
}

// childExit is the child's side: it prints the probe's report r, or its
// error, and returns the exit code.
func childExit(r any, err error) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	js, err := json.Marshal(r)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s%s\n", childReportHead, js)
	return 0
}
