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
package bench
