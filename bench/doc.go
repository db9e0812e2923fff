// Package bench measures the plugin (libdocker.so) through its C ABI, as
// Falco drives it, side by side with the seed design rebuilt in
// bench/baseline: the same benchmarks, with the same names, run once per
// library (a process can hold only one Go c-shared library), and benchstat
// compares the two outputs. `make bench` does it all; BENCHMARKS.md at the
// repository root records the figures and how to read them.
//
// The package holds only benchmarks: `go test ./bench` without -bench
// builds nothing and runs nothing.
//
//	BENCH_PLUGIN=ours|baseline  which library to measure (default ours)
//	BENCH_SO=/path/lib.so       use that build of it instead of building one
//	BENCH_PROFILE_DIR=/dir      BenchmarkProfile writes the plugin runtime's
//	                            CPU and allocation profiles there
//
// BenchmarkPeakRSS starts this test binary again, once per measurement, as
// a child that runs one scenario (see rss_test.go); -short shortens its
// live-idle scenario from 60 s to 5 s. A child can be run by hand for the
// breakdown of its memory:
//
//	BENCH_RSS_PROBE=idle|rule   the scenario (rule: drain a replay, extracting the rule's fields)
//	BENCH_RSS_SOURCE=file://P   what it opens ("" = the machine's daemon)
//	BENCH_RSS_FOR=60s           how long the idle scenario calls next_batch
//	BENCH_RSS_CONFIG={...}      its init_config
//	BENCH_RSS_DETAIL=/dir       write /proc/self/smaps (after plugin_init and at the
//	                            end) and the library runtime's MemStats there
package bench
