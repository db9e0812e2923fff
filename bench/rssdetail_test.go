package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

// writeDetail copies /proc/self/smaps, the library runtime's MemStats (the
// tail of its allocs profile) and its heap profile into dir, for the
// breakdown.
func writeDetail(dir, name, probe, pprofAddr string) error {
	base := fmt.Sprintf("%s/%s-%s", dir, name, probe)
	if err := copySmaps(base + ".smaps"); err != nil {
		return err
	}
	resp, err := pprofClient.Get("http://" + pprofAddr + "/debug/pprof/allocs?debug=1")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var tail bytes.Buffer
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "# ") {
			tail.WriteString(sc.Text())
			tail.WriteByte('\n')
		}
	}
	if err := os.WriteFile(base+".memstats", tail.Bytes(), 0o644); err != nil {
		return err
	}
	heap, err := pprofClient.Get("http://" + pprofAddr + "/debug/pprof/heap")
	if err != nil {
		return err
	}
	defer heap.Body.Close()
	f, err := os.Create(base + ".heap.prof")
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, heap.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func copySmaps(path string) error {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return err
	}
	return os.WriteFile(path, smaps, 0o644)
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
