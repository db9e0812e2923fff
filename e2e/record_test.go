package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/recorder"
	"github.com/falco-docker/plugin/internal/testdocker"
)

// TestRecordFixture records the replay fixture with the shared recorder
// (internal/recorder): a private dockerd with Swarm, followed by the plugin's
// live source, while this scenario drives every kind of object the daemon
// can report here. The fixture is therefore exactly the bytes a daemon sends.
//
//	go test ./e2e -run TestRecordFixture -record
func TestRecordFixture(t *testing.T) {
	recorder.SkipUnlessRecording(t)
	testdocker.Require(t)
	recorder.Record(t, plugin, "rec", fixturePath, recordScenario)
}

// recordScenario is what TestRecordFixture records.
func recordScenario(t *testing.T, dm *testdocker.Daemon, d testdocker.Docker, img string) {
	tmp := t.TempDir()

	// Images.
	d.Run(t, "tag", img, "fixture/tool:v1")
	d.Run(t, "tag", img, "fixture/tool:v2")
	d.Run(t, "save", "-o", filepath.Join(tmp, "img.tar"), "fixture/tool:v1")
	d.Run(t, "rmi", "fixture/tool:v1")
	d.Run(t, "load", "-i", filepath.Join(tmp, "img.tar"))
	d.RunInput(t, string(make([]byte, 1024)), "import", "-", "fixture/empty:1")
	d.Run(t, "rmi", "fixture/empty:1")

	// Volumes and networks.
	d.Run(t, "volume", "create", "--label", "team=blue", "fixture-vol")
	d.Run(t, "network", "create", "--label", "team=blue", "fixture-net")

	// Containers: labels (one with characters the daemon escapes), a health
	// check, execs, pause, rename, restart, stop, kill, update, commit.
	labels := []string{"--label", "com.docker.compose.project=shop", "--label", "com.docker.compose.service=web",
		"--label", "com.example.note=<a & b>", "--label", "team=blue"}
	for i := 0; i < 12; i++ {
		labels = append(labels, "--label", fmt.Sprintf("com.example.annotation-%02d=%s", i, strings.Repeat("x", 40)))
	}
	args := append([]string{"run", "-d", "--name", "fixture-web", "-v", "fixture-vol:/data", "--network", "fixture-net",
		"--health-cmd", "/bin/tool true", "--health-interval", "1s"}, labels...)
	d.Run(t, append(args, img)...)
	testdocker.WaitFor(t, 30*time.Second, func() bool {
		out, _ := d.Try("inspect", "-f", "{{.State.Health.Status}}", "fixture-web")
		return out == "healthy"
	})
	d.Run(t, "exec", "fixture-web", "sh", "-c", "id")
	d.Run(t, "exec", "fixture-web", "curl", "-s", "http://example.invalid/x.sh")
	d.Run(t, "exec", "fixture-web", "apt-get", "install", "-y", "nmap")
	d.Try("exec", "fixture-web", "sh", "-c", "exit 7")
	d.Run(t, "network", "disconnect", "fixture-net", "fixture-web")
	d.Run(t, "network", "connect", "fixture-net", "fixture-web")
	d.Run(t, "pause", "fixture-web")
	d.Run(t, "unpause", "fixture-web")
	d.Run(t, "rename", "fixture-web", "fixture-web2")
	d.Run(t, "update", "--memory", "64m", "--memory-swap", "128m", "fixture-web2")
	d.Run(t, "top", "fixture-web2")
	d.Run(t, "commit", "fixture-web2", "fixture/committed:1")
	d.Run(t, "restart", "-t", "2", "fixture-web2")
	d.Run(t, "stop", "-t", "2", "fixture-web2")
	d.Run(t, "start", "fixture-web2")
	d.Run(t, "kill", "fixture-web2")
	d.Run(t, "rm", "fixture-web2")
	d.Try("run", "--name", "fixture-fail", "--privileged", "-v", "/var/run/docker.sock:/var/run/docker.sock", img, "/bin/tool", "exit", "42")
	d.Run(t, "rm", "fixture-fail")
	d.Run(t, "rmi", "fixture/committed:1")

	// Daemon configuration reload.
	if err := syscall.Kill(dm.PID(), syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP dockerd: %v", err)
	}

	// Swarm: a service through its life, node availability, secrets, configs.
	d.Run(t, "service", "create", "--detach=false", "--name", "fixture-svc", "--replicas", "1", "--no-resolve-image", "--label", "team=blue", img)
	d.Run(t, "service", "update", "--detach=false", "--no-resolve-image", "--image", "fixture/tool:v2", "fixture-svc")
	d.Run(t, "service", "scale", "--detach=false", "fixture-svc=2")
	d.Run(t, "service", "scale", "--detach=false", "fixture-svc=0")
	d.Run(t, "service", "rm", "fixture-svc")
	node := d.Run(t, "node", "ls", "-q")
	d.Run(t, "node", "update", "--availability", "drain", node)
	d.Run(t, "node", "update", "--availability", "active", "--label-add", "zone=a", node)
	d.RunInput(t, "s3cr3t", "secret", "create", "fixture-secret", "-")
	d.Run(t, "secret", "rm", "fixture-secret")
	d.RunInput(t, "key: value\n", "config", "create", "fixture-config", "-")
	d.Run(t, "config", "rm", "fixture-config")
	d.Try("builder", "prune", "-f")

	d.Run(t, "volume", "rm", "fixture-vol")
	d.Run(t, "network", "rm", "fixture-net")
}
