package testdocker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts used by the private daemons.
const (
	daemonReadyTimeout = 60 * time.Second // dockerd start until /_ping answers
	daemonStopTimeout  = 45 * time.Second // SIGTERM until exit, then SIGKILL
	killWaitTimeout    = 15 * time.Second // SIGKILL until the process is gone
)

// privateRootDir is where private daemons keep their state. It is fixed
// (rather than os.TempDir) because unix socket paths are limited to 108 bytes.
const privateRootDir = "/tmp"

// privatePrefix starts the names of the root directories and the network
// namespaces of private daemons: fdt-<pid of the test process>-<name>-<rand>.
const privatePrefix = "fdt-"

// DaemonOptions configure StartDaemon.
type DaemonOptions struct {
	// Name is a short name ([a-z0-9], at most 12 characters) used in the
	// names of the root directory and the network namespace.
	Name string
	// TCPAddr, when set ("127.0.0.1:PORT"), makes the daemon also serve the
	// API on that TCP address. The listening socket is created in the
	// network namespace of the test process (so the address is reachable
	// from the test, unlike one inside the daemon's own namespace) and is
	// handed to dockerd by socket activation (-H fd://). It is closed while
	// the daemon is stopped, so connections are refused like for a real
	// stopped daemon.
	TCPAddr string
	// TLS, when set, protects the TCP listener with --tlsverify and these
	// server files (see GenerateTLS).
	TLS *TLSFiles
	// ExtraArgs are appended to the dockerd command line.
	ExtraArgs []string
	// Binary is the dockerd to run; "" is the one on PATH. Docker29 sets it.
	Binary string
	// Config is the content of the daemon's config file; nil writes one
	// that gives the daemon its own trust key (a key Docker 29 rejects).
	Config map[string]any
}

// Daemon is a private dockerd started by StartDaemon in its own network
// namespace, with its own data root, exec root (and so its own managed
// containerd), socket, config file and trust key. It never shares state with
// the machine's daemon.
type Daemon struct {
	Name   string // DaemonOptions.Name
	Socket string // unix socket path of the API
	Host   string // "unix://" + Socket
	// TCPHost ("tcp://"+DaemonOptions.TCPAddr) is set when the daemon
	// serves the API on TCP too.
	TCPHost string

	netns   string // network namespace (ip netns) the daemon runs in
	root    string // directory holding everything the daemon uses
	logFile string // dockerd's stdout and stderr

	opts      DaemonOptions
	mu        sync.Mutex
	cmd       *exec.Cmd
	done      chan struct{}
	pid       int
	tcpFile   *os.File
	cleanedUp bool
}

var (
	sweepOnce sync.Once
	nameRE    = regexp.MustCompile(`^[a-z0-9]{1,12}$`)
)

// StartDaemon starts a private dockerd (see Daemon) and registers a cleanup
// that stops it (killing whatever is left of it and its containers), unmounts
// everything under its root, removes the root and deletes its network
// namespace. Like Require, it marks an e2e test: it skips (or fails) the
// test unless it runs as root with docker, dockerd, ip and nsenter on PATH.
func StartDaemon(t testing.TB, opts DaemonOptions) *Daemon {
	t.Helper()
	dockerd := "dockerd"
	if opts.Binary != "" {
		dockerd = opts.Binary
	}
	requirePrivate(t, dockerd)
	if !nameRE.MatchString(opts.Name) {
		t.Fatalf("testdocker.StartDaemon: name %q must match %s", opts.Name, nameRE)
	}
	sweepOnce.Do(func() { sweepStale(t) })

	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%s%d-%s-%s", privatePrefix, os.Getpid(), opts.Name, hex.EncodeToString(rnd[:]))
	root := filepath.Join(privateRootDir, id)
	d := &Daemon{
		Name:    opts.Name,
		Socket:  filepath.Join(root, "docker.sock"),
		netns:   id,
		root:    root,
		logFile: filepath.Join(root, "dockerd.log"),
		opts:    opts,
	}
	d.Host = "unix://" + d.Socket
	if opts.TCPAddr != "" {
		d.TCPHost = "tcp://" + opts.TCPAddr
	}
	if err := os.Mkdir(root, 0o711); err != nil {
		t.Fatalf("testdocker.StartDaemon: %v", err)
	}
	// Registered before anything else is created, so that a failure below
	// still removes it all.
	t.Cleanup(func() { d.cleanup(t) })
	// An own config file, or dockerd would read the machine's
	// /etc/docker/daemon.json; an own trust key (a config-file-only
	// setting), or the daemon would share /etc/docker/key.json (and so its
	// ID) with the machine's daemon.
	config := opts.Config
	if config == nil {
		config = map[string]any{"deprecated-key-path": filepath.Join(root, "key.json")}
	}
	cfg, _ := json.Marshal(config)
	if err := os.WriteFile(filepath.Join(root, "daemon.json"), cfg, 0o644); err != nil {
		t.Fatalf("testdocker.StartDaemon: %v", err)
	}
	if out, err := exec.Command("ip", "netns", "add", id).CombinedOutput(); err != nil {
		t.Fatalf("testdocker.StartDaemon: ip netns add %s: %v: %s", id, err, out)
	}
	if out, err := exec.Command("ip", "-n", id, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("testdocker.StartDaemon: ip -n %s link set lo up: %v: %s", id, err, out)
	}

	if err := d.start(); err != nil {
		t.Fatalf("testdocker.StartDaemon %s: %v", d.Name, err)
	}
	return d
}

// Docker returns a Docker reaching the daemon on its unix socket.
func (d *Daemon) Docker() Docker { return Docker{Host: d.Host} }

// PID returns the pid of the running dockerd, or 0 when it is not running.
func (d *Daemon) PID() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil || d.exited() {
		return 0
	}
	return d.pid
}

// Start (re)starts dockerd with the same roots and socket and waits until it
// answers GET /_ping. It does nothing if dockerd is running.
func (d *Daemon) Start(t testing.TB) {
	t.Helper()
	if err := d.start(); err != nil {
		t.Fatalf("testdocker: starting dockerd %s: %v", d.Name, err)
	}
}

// Stop stops dockerd with SIGTERM and waits for it to exit (SIGKILL after
// a while). It does nothing if dockerd is not running.
func (d *Daemon) Stop(t testing.TB) {
	t.Helper()
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("testdocker: stopping dockerd %s: %v", d.Name, err)
	}
}

// Kill kills dockerd with SIGKILL and waits for it to exit, like a crash.
// Its managed containerd dies with it (parent death signal) while the
// container processes (under their shims) keep running; on Start dockerd
// starts a new containerd and, without live-restore, stops the containers it
// finds running.
func (d *Daemon) Kill(t testing.TB) {
	t.Helper()
	if err := d.stop(syscall.SIGKILL); err != nil {
		t.Fatalf("testdocker: killing dockerd %s: %v", d.Name, err)
	}
}

// LogTail returns the last n lines of dockerd's log.
func (d *Daemon) LogTail(n int) string {
	b, err := os.ReadFile(d.logFile)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// exited reports whether the last started dockerd has exited (true when none
// was started). Callers hold d.mu or own d exclusively.
func (d *Daemon) exited() bool {
	if d.done == nil {
		return true
	}
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

func (d *Daemon) args() []string {
	args := []string{
		"--config-file", filepath.Join(d.root, "daemon.json"),
		"--data-root", filepath.Join(d.root, "data"),
		"--exec-root", filepath.Join(d.root, "exec"),
		"--pidfile", filepath.Join(d.root, "docker.pid"),
		"-H", d.Host,
		"--iptables=false",
	}
	if d.opts.TCPAddr != "" {
		args = append(args, "-H", "fd://")
		if tls := d.opts.TLS; tls != nil {
			args = append(args, "--tlsverify", "--tlscacert", tls.CA, "--tlscert", tls.Cert, "--tlskey", tls.Key)
		}
	}
	return append(args, d.opts.ExtraArgs...)
}

func (d *Daemon) start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cleanedUp {
		return errors.New("daemon already cleaned up")
	}
	if !d.exited() {
		return nil
	}
	logf, err := os.OpenFile(d.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== testdocker: starting dockerd at %s\n", time.Now().Format(time.RFC3339Nano))

	clearStaleContainerdPidfile(d.root)

	var cmd *exec.Cmd
	dockerd := "dockerd"
	if d.opts.Binary != "" {
		dockerd = d.opts.Binary
	}
	nsArgs := append([]string{"--net=" + netnsPath(d.netns), dockerd}, d.args()...)
	if d.opts.TCPAddr != "" {
		if d.tcpFile == nil {
			l, err := net.Listen("tcp", d.opts.TCPAddr)
			if err != nil {
				return fmt.Errorf("listening on %s: %v", d.opts.TCPAddr, err)
			}
			f, err := l.(*net.TCPListener).File()
			l.Close()
			if err != nil {
				return err
			}
			d.tcpFile = f
		}
		// systemd socket activation: LISTEN_PID must be dockerd's pid,
		// which is the shell's since both sh and nsenter exec.
		cmd = exec.Command("/bin/sh", append([]string{"-c", `export LISTEN_PID=$$ LISTEN_FDS=1; exec "$@"`, "sh", "nsenter"}, nsArgs...)...)
		cmd.ExtraFiles = []*os.File{d.tcpFile}
	} else {
		cmd = exec.Command("nsenter", nsArgs...)
	}
	cmd.Dir = d.root
	cmd.Stdout, cmd.Stderr = logf, logf
	// Keep terminal signals meant for the test process away from dockerd.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	d.cmd, d.done, d.pid = cmd, done, cmd.Process.Pid

	deadline := time.Now().Add(daemonReadyTimeout)
	for {
		if err := d.ping(); err == nil {
			break
		} else if time.Now().After(deadline) {
			d.killLocked()
			return fmt.Errorf("dockerd did not answer /_ping within %v: %v\n--- dockerd.log tail:\n%s", daemonReadyTimeout, err, d.LogTail(40))
		}
		select {
		case <-done:
			return fmt.Errorf("dockerd exited during start-up (%v)\n--- dockerd.log tail:\n%s", cmd.ProcessState, d.LogTail(40))
		case <-time.After(50 * time.Millisecond):
		}
	}
	if pid, err := readPidfile(filepath.Join(d.root, "docker.pid")); err == nil && pid != d.pid {
		return fmt.Errorf("pidfile says %d, started %d", pid, d.pid)
	}
	logf.WriteString(fmt.Sprintf("=== testdocker: dockerd ready after %v\n", time.Since(started)))
	return nil
}

// procState returns the state letter of a process (R, S, D, Z, ...), or ""
// when there is no such process.
func procState(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// managedContainerd returns the pid of the containerd that dockerd started
// under root, or 0 when it is gone or a zombie.
func managedContainerd(root string) int {
	pid, err := readPidfile(filepath.Join(root, "exec", "containerd", "containerd.pid"))
	if err != nil {
		return 0
	}
	if st := procState(pid); st == "" || st == "Z" || st == "X" {
		return 0
	}
	cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if !bytes.Contains(cl, []byte(root)) {
		return 0 // pid reused
	}
	return pid
}

// waitManagedContainerd waits (bounded) for the managed containerd to go
// away after dockerd exited: dockerd stops it on a clean shutdown, and the
// kernel kills it (parent death signal) when dockerd is killed, but only
// asynchronously.
func waitManagedContainerd(root string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for managedContainerd(root) != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// clearStaleContainerdPidfile removes the pidfile of the managed containerd
// when that process is gone or a zombie. dockerd only checks that the pid
// exists, and a containerd killed along with dockerd (its parent death
// signal) can stay a zombie for a while when pid 1 is slow to reap orphans,
// which makes dockerd wait for it and time out.
func clearStaleContainerdPidfile(root string) {
	if managedContainerd(root) == 0 {
		os.Remove(filepath.Join(root, "exec", "containerd", "containerd.pid"))
	}
}

func (d *Daemon) killLocked() {
	if d.cmd != nil && !d.exited() {
		syscall.Kill(d.pid, syscall.SIGKILL)
		select {
		case <-d.done:
		case <-time.After(killWaitTimeout):
		}
	}
}

func (d *Daemon) stop(sig syscall.Signal) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil || d.exited() {
		d.closeTCP()
		return nil
	}
	pid := d.pid
	if p, err := readPidfile(filepath.Join(d.root, "docker.pid")); err == nil && p != pid {
		return fmt.Errorf("pidfile says %d, started %d", p, pid)
	}
	if err := syscall.Kill(pid, sig); err != nil && err != syscall.ESRCH {
		return err
	}
	timeout := daemonStopTimeout
	if sig == syscall.SIGKILL {
		timeout = killWaitTimeout
	}
	var err error
	select {
	case <-d.done:
	case <-time.After(timeout):
		err = fmt.Errorf("dockerd (pid %d) did not exit within %v of %v", pid, timeout, sig)
		if sig != syscall.SIGKILL {
			syscall.Kill(pid, syscall.SIGKILL)
			select {
			case <-d.done:
				// Stopped, but only with SIGKILL: report it.
				err = fmt.Errorf("%v; killed it\n--- dockerd.log tail:\n%s", err, d.LogTail(20))
			case <-time.After(killWaitTimeout):
			}
		}
	}
	d.closeTCP()
	if d.exited() {
		waitManagedContainerd(d.root, killWaitTimeout)
	}
	if err != nil && !d.exited() {
		return fmt.Errorf("%v\n--- dockerd.log tail:\n%s", err, d.LogTail(20))
	}
	return err
}

func (d *Daemon) closeTCP() {
	if d.tcpFile != nil {
		d.tcpFile.Close()
		d.tcpFile = nil
	}
}

func readPidfile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func (d *Daemon) httpClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dl net.Dialer
				return dl.DialContext(ctx, "unix", d.Socket)
			},
		},
	}
}

func (d *Daemon) ping() error {
	resp, err := d.httpClient(2 * time.Second).Get("http://docker/_ping")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK || string(body) != "OK" {
		return fmt.Errorf("/_ping: %s %q", resp.Status, body)
	}
	return nil
}

// cleanup is registered by StartDaemon.
func (d *Daemon) cleanup(t testing.TB) {
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Logf("testdocker: cleanup of dockerd %s: %v", d.Name, err)
	}
	d.mu.Lock()
	d.cleanedUp = true
	d.mu.Unlock()
	if err := cleanupRoot(d.root, d.netns); err != nil {
		t.Errorf("testdocker: cleanup of dockerd %s: %v", d.Name, err)
	}
}

func netnsPath(name string) string { return filepath.Join("/var/run/netns", name) }

// cleanupRoot removes every trace of a private daemon: processes (dockerd,
// containerd, shims, containers and anything else in its network
// namespace), mounts under root, container cgroups, root itself and the
// network namespace. It is used for the daemons of this process and for
// stale ones left by test processes that died.
func cleanupRoot(root, netns string) error {
	var errs []error
	if err := killLeftovers(root, netns); err != nil {
		errs = append(errs, err)
	}
	removeContainerCgroups(filepath.Join(root, "data", "containers"))
	if left := unmountUnder(root); len(left) > 0 {
		errs = append(errs, fmt.Errorf("mounts left under %s: %v", root, left))
	}
	if root != "" {
		if err := os.RemoveAll(root); err != nil {
			errs = append(errs, err)
		}
	}
	if netns != "" {
		if _, err := os.Stat(netnsPath(netns)); err == nil {
			if out, err := exec.Command("ip", "netns", "delete", netns).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("ip netns delete %s: %v: %s", netns, err, out))
			}
		}
	}
	return errors.Join(errs...)
}

// LeftoverProcesses returns the pids of processes that belong to a private
// daemon: those whose command line mentions root, those in the network
// namespace netns, and all their descendants.
func leftoverProcesses(root, netns string) []int {
	var nsLink string
	if netns != "" {
		var st syscall.Stat_t
		if err := syscall.Stat(netnsPath(netns), &st); err == nil {
			nsLink = fmt.Sprintf("net:[%d]", st.Ino)
		}
	}
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	parent := map[int]int{}
	seed := map[int]bool{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		parent[pid] = ppid
		if root != "" {
			if cl, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && bytes.Contains(cl, []byte(root)) {
				seed[pid] = true
				continue
			}
		}
		if nsLink != "" {
			if l, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns", "net")); err == nil && l == nsLink {
				seed[pid] = true
			}
		}
	}
	var out []int
	for pid := range parent {
		for p, n := pid, 0; p > 1 && n < 64; p, n = parent[p], n+1 {
			if seed[p] {
				out = append(out, pid)
				break
			}
		}
	}
	sort.Ints(out)
	return out
}

func killLeftovers(root, netns string) error {
	deadline := time.Now().Add(killWaitTimeout)
	for {
		pids := leftoverProcesses(root, netns)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes left: %v", pids)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// removeContainerCgroups removes the (cgroupfs driver) cgroups of the
// containers whose state is under containersDir, in case their processes
// were killed behind the runtime's back.
func removeContainerCgroups(containersDir string) {
	entries, err := os.ReadDir(containersDir)
	if err != nil || len(entries) == 0 {
		return
	}
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*")
	hierarchies = append(hierarchies, "/sys/fs/cgroup")
	for _, e := range entries {
		for _, h := range hierarchies {
			os.Remove(filepath.Join(h, "docker", e.Name()))
		}
	}
}

// mountsUnder returns the mount points at or under dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountUnder lazily unmounts everything mounted at or under dir and
// returns what could not be unmounted.
func unmountUnder(dir string) []string {
	if dir == "" || dir == "/" {
		return nil
	}
	var left []string
	for range 10 {
		left = mountsUnder(dir)
		if len(left) == 0 {
			return nil
		}
		for _, mp := range left {
			syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	}
	return left
}

// sweepStale removes private daemons left behind by test processes that
// died without running their cleanups.
func sweepStale(t testing.TB) {
	names := map[string]bool{}
	for _, dir := range []string{"/var/run/netns", privateRootDir} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), privatePrefix) {
				names[e.Name()] = true
			}
		}
	}
	for name := range names {
		rest := strings.TrimPrefix(name, privatePrefix)
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() {
			continue
		}
		if st := procState(pid); st != "" && st != "Z" && st != "X" {
			continue // its owner still runs
		}
		netns := ""
		if _, err := os.Stat(netnsPath(name)); err == nil {
			netns = name
		}
		root := filepath.Join(privateRootDir, name)
		if st, err := os.Stat(root); err != nil || !st.IsDir() {
			root = ""
		}
		if err := cleanupRoot(root, netns); err != nil {
			t.Logf("testdocker: removing stale private daemon %s: %v", name, err)
		} else {
			t.Logf("testdocker: removed stale private daemon %s (owner pid %d gone)", name, pid)
		}
	}
}
