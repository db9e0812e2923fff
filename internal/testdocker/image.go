package testdocker

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// toolSource is the source of the multi-call binary put in the test image.
// It is embedded (rather than read from disk) so that Image works whatever
// the working directory of the calling test is.
//
//go:embed testdata/tool/main.go
var toolSource []byte

// imageRepo is the repository of the test image built by Image.
const imageRepo = "falco-docker-test/tool"

// imageLayout changes whenever the layout of the image tar changes, so that
// a stale image with the same tool source is not reused.
const imageLayout = "v1"

// toolLinks are the names (besides /bin/tool) the tool is hard-linked as.
var toolLinks = []string{
	"/bin/sh", "/bin/bash", "/usr/bin/apt-get", "/usr/bin/curl", "/usr/bin/wget",
	"/usr/bin/nc", "/usr/bin/nmap", "/bin/true", "/bin/sleep",
}

// imageTag returns the tag Image uses: imageRepo plus a short hash of the tool
// source, the Go version and architecture and the image layout.
func imageTag() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", imageLayout, runtime.Version(), runtime.GOARCH, strings.Join(toolLinks, ","))
	h.Write(toolSource)
	return imageRepo + ":" + hex.EncodeToString(h.Sum(nil))[:12]
}

type onceResult struct {
	once sync.Once
	tag  string
	err  error
}

var (
	imagesMu sync.Mutex
	images   = map[string]*onceResult{} // by Docker.Host

	tarOnce  sync.Once
	tarBytes []byte
	tarErr   error
)

// Image returns the tag of a tiny test image in the daemon reached by docker,
// building (importing) it there once per process and daemon host. The image
// holds a static multi-call binary at /bin/tool, hard-linked as /bin/sh,
// /bin/bash, /bin/true, /bin/sleep, /usr/bin/{apt-get,curl,wget,nc,nmap};
// plus /tmp (1777) and an empty /etc. Its CMD is /bin/tool sleep 3600.
// See testdata/tool/main.go for what the tool does.
//
// If an image with the tag already exists in the daemon it is reused.
func Image(t testing.TB, docker Docker) string {
	t.Helper()
	imagesMu.Lock()
	r := images[docker.Host]
	if r == nil {
		r = &onceResult{}
		images[docker.Host] = r
	}
	imagesMu.Unlock()
	r.once.Do(func() { r.tag, r.err = importImage(docker) })
	if r.err != nil {
		t.Fatalf("testdocker.Image: %v", r.err)
	}
	return r.tag
}

func importImage(docker Docker) (string, error) {
	tag := imageTag()
	if _, err := docker.Try("image", "inspect", "--format", "{{.Id}}", tag); err == nil {
		return tag, nil
	}
	tar, err := ImageTar()
	if err != nil {
		return "", err
	}
	cmd := docker.command("import", "-c", `CMD ["/bin/tool","sleep","3600"]`, "-m", "falco-docker plugin test image", "-", tag)
	cmd.Stdin = bytes.NewReader(tar)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker import (DOCKER_HOST=%q): %v: %s", docker.Host, err, strings.TrimSpace(stderr.String()))
	}
	return tag, nil
}

// buildTool compiles the tool into dir/tool and returns its path.
func buildTool(dir string) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			return "", fmt.Errorf("go command not found: %v", err)
		}
	}
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module testdocker.invalid/tool\n\ngo 1.21\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), toolSource, 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "tool")
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH,
		"GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local", "GO111MODULE=on")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the test tool: %v\n%s", err, b)
	}
	return out, nil
}

func buildImageTar() ([]byte, error) {
	dir, err := os.MkdirTemp("", "testdocker-tool")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin, err := buildTool(dir)
	if err != nil {
		return nil, err
	}
	content, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}

	mtime := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	var addDir func(name string, mode int64) error
	addDir = func(name string, mode int64) error {
		if name == "." || name == "/" || name == "" || dirs[name] {
			return nil
		}
		if err := addDir(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		dirs[name] = true
		return tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime, Format: tar.FormatPAX,
		})
	}
	rel := func(p string) string { return strings.TrimPrefix(p, "/") }

	if err := addDir("tmp", 0o1777); err != nil {
		return nil, err
	}
	if err := addDir("etc", 0o755); err != nil {
		return nil, err
	}
	if err := addDir("bin", 0o755); err != nil {
		return nil, err
	}
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: "bin/tool", Mode: 0o755, Size: int64(len(content)), ModTime: mtime, Format: tar.FormatPAX,
	}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	for _, l := range toolLinks {
		if err := addDir(filepath.Dir(rel(l)), 0o755); err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeLink, Name: rel(l), Linkname: "bin/tool", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX,
		}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
