package bench

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"

	"github.com/falco-docker/plugin/internal/host"
)

// Environment of the child process BenchmarkSlab starts.
const (
	envSlabProbe = "BENCH_SLAB_PROBE" // set: run probeSlab instead of the benchmarks
	envReplay    = "BENCH_REPLAY"     // the replay file the child drains
)

// slabReport is what the child measures, in bytes.
type slabReport struct {
	// SlabResident is the part of the default slab's slots that is in RAM
	// once the short replay has gone through them (mincore of every slot).
	SlabResident int64
	// SlabVirtual is the slots' allocated size: batch size x (slot size +
	// event header).
	SlabVirtual int64
	// RSSOpen is the process's VmRSS growth across plugin_open.
	RSSOpen int64
	// RSSDrained is the VmRSS growth from before plugin_open to the end of
	// the replay: the slab, the instance's buffers and the plugin
	// runtime's heap growth.
	RSSDrained int64
}

// BenchmarkSlab measures the resident memory of the default configuration's
// slab. It must be measured in a fresh process: memory the allocator
// already holds (from a previous instance of this process) is resident
// whatever the plugin does with it. So each op starts this test binary
// again as a child that loads the library, opens the replay once with the
// default config and reports (see slabReport); ns/op is the child's whole
// run and means nothing.
func BenchmarkSlab(b *testing.B) {
	s := load(b)
	path := shortReplay(b)
	var sum slabReport
	n := 0
	for b.Loop() {
		r, err := runSlabProbe(s, path)
		if err != nil {
			b.Fatal(err)
		}
		sum.SlabResident += r.SlabResident
		sum.SlabVirtual += r.SlabVirtual
		sum.RSSOpen += r.RSSOpen
		sum.RSSDrained += r.RSSDrained
		n++
	}
	b.ReportMetric(float64(sum.SlabResident)/float64(n), "slab-resident-B")
	b.ReportMetric(float64(sum.SlabVirtual)/float64(n), "slab-virtual-B")
	b.ReportMetric(float64(sum.RSSOpen)/float64(n), "rss-open-B")
	b.ReportMetric(float64(sum.RSSDrained)/float64(n), "rss-drained-B")
}

func runSlabProbe(s *subject, path string) (slabReport, error) {
	var r slabReport
	err := runChild("slab probe", []string{envSlabProbe + "=1", envPlugin + "=" + s.name, envSO + "=" + s.path, envReplay + "=" + path}, &r)
	return r, err
}

func probeSlab() (slabReport, error) {
	s, err := loadSubject()
	if err != nil {
		return slabReport{}, err
	}
	st, err := s.plugin.Init(`{}`)
	if err != nil {
		return slabReport{}, err
	}
	defer st.Destroy()
	before, err := procStatus("VmRSS:")
	if err != nil {
		return slabReport{}, err
	}
	inst, err := st.Open("file://" + os.Getenv(envReplay))
	if err != nil {
		return slabReport{}, err
	}
	defer inst.Close()
	opened, err := procStatus("VmRSS:")
	if err != nil {
		return slabReport{}, err
	}
	// Every slot of the slab shows up as an event of a full batch; the
	// event data starts PluginEventPayloadOffset bytes into its slot.
	slots := map[uintptr]bool{}
	for {
		evts, rc, err := inst.NextBatch()
		if err != nil {
			return slabReport{}, err
		}
		for i := range evts {
			data := uintptr(unsafe.Pointer(unsafe.SliceData(evts[i].Data())))
			slots[data-sdk.PluginEventPayloadOffset] = true
		}
		if rc == host.SSPluginEOF {
			break
		}
	}
	drained, err := procStatus("VmRSS:")
	if err != nil {
		return slabReport{}, err
	}
	slotBytes := s.slotSize + sdk.PluginEventPayloadOffset
	resident, err := residentBytes(slots, slotBytes)
	if err != nil {
		return slabReport{}, err
	}
	return slabReport{
		SlabResident: resident,
		SlabVirtual:  int64(len(slots) * slotBytes),
		RSSOpen:      (opened - before) << 10, // procStatus reads KiB
		RSSDrained:   (drained - before) << 10,
	}, nil
}

// residentBytes counts, with mincore(2), the pages of the given slots
// (start addresses, size bytes each) that are in RAM; a page two slots
// share counts once.
func residentBytes(slots map[uintptr]bool, size int) (int64, error) {
	page := uintptr(os.Getpagesize())
	resident := map[uintptr]bool{}
	for start := range slots {
		first := start &^ (page - 1)
		n := int((start + uintptr(size) - first + page - 1) / page)
		vec := make([]byte, n)
		_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, first, uintptr(n)*page, uintptr(unsafe.Pointer(&vec[0])))
		if errno != 0 {
			return 0, fmt.Errorf("mincore: %w", errno)
		}
		for i, v := range vec {
			if v&1 != 0 {
				resident[first+uintptr(i)*page] = true
			}
		}
	}
	return int64(len(resident)) * int64(page), nil
}
