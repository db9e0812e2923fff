// Command package writes what falcosecurity/plugins publishes for a plugin,
// so that falcoctl can install it (make package):
//
//	<name>-<version>-linux-<arch>.tar.gz  lib<name>.so
//	<name>-rules-<version>.tar.gz         the rules file
//	index.yaml                            falcoctl index entries <name> and <name>-rules
//
// The names follow the package/% target of falcosecurity/plugins' Makefile
// (arch as uname -m: x86_64, aarch64). The version and name are read from
// the built library through plugin_get_version and plugin_get_name, as
// falcosecurity/plugins' build/utils/version.go does, so main.go's
// pluginVersion stays the single source of truth. The shared metadata comes
// from registry.yaml. It then prints the falcoctl registry push commands
// that publish the two archives where index.yaml points.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"

	"github.com/falco-docker/plugin/internal/host"
)

// From falcosecurity/plugins build/utils/version.go: a plugin's declared
// version must be SemVer and its name lower-case, or it is not published.
var (
	semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$`)
	nameRE   = regexp.MustCompile(`^[a-z]+[a-z0-9_\-]*$`)
)

type options struct {
	so, rules, registry, out   string
	ociRegistry, ociRepoPrefix string
}

func main() {
	var o options
	flag.StringVar(&o.so, "so", "libdocker.so", "the built plugin library")
	flag.StringVar(&o.rules, "rules", "rules/docker_rules.yaml", "the rules file")
	flag.StringVar(&o.registry, "registry", "registry.yaml", "registry.yaml holding the plugin's metadata")
	flag.StringVar(&o.out, "out", "dist", "directory to write the artifacts to")
	flag.StringVar(&o.ociRegistry, "oci-registry", "ghcr.io", "OCI registry the artifacts are pushed to")
	flag.StringVar(&o.ociRepoPrefix, "oci-repository", "falco-docker/plugin", "OCI repository prefix: artifacts go to <prefix>/plugin/<name> and <prefix>/ruleset/<name>")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	// dlopen looks a name without a slash up in the library path: give it
	// the file.
	so, err := filepath.Abs(o.so)
	if err != nil {
		return err
	}
	p, err := host.Load(so)
	if err != nil {
		return fmt.Errorf("load the plugin: %w", err)
	}
	info := p.Info()
	if !nameRE.MatchString(info.Name) {
		return fmt.Errorf("plugin name %q is not lower-case letters, digits, - and _", info.Name)
	}
	if !semverRE.MatchString(info.Version) {
		return fmt.Errorf("plugin version %q is not SemVer", info.Version)
	}
	meta, err := loadRegistryPlugin(o.registry, info.Name)
	if err != nil {
		return err
	}
	reqs, err := readRulesRequirements(o.rules)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}

	pluginTgz := filepath.Join(o.out, pluginArchive(info.Name, info.Version, runtime.GOOS, unameArch(runtime.GOARCH)))
	rulesTgz := filepath.Join(o.out, rulesArchive(info.Name, info.Version))
	if err := writeTarball(pluginTgz, o.so); err != nil {
		return err
	}
	if err := writeTarball(rulesTgz, o.rules); err != nil {
		return err
	}
	entries := indexEntries(meta, o.ociRegistry, o.ociRepoPrefix)
	if err := writeIndex(filepath.Join(o.out, "index.yaml"), entries); err != nil {
		return err
	}
	for _, f := range []string{pluginTgz, rulesTgz, filepath.Join(o.out, "index.yaml")} {
		fmt.Println("wrote", f)
	}
	printPushCommands(os.Stdout, info, entries, reqs, pluginTgz, rulesTgz)
	return nil
}

// pluginArchive and rulesArchive are the archive names of falcosecurity/plugins'
// package/% target: $(PLUGIN_NAME)-$(PLUGIN_VERSION)-$(PLATFORM)-$(ARCH).tar.gz
// and $(PLUGIN_NAME)-rules-$(PLUGIN_VERSION).tar.gz.
func pluginArchive(name, version, goos, arch string) string {
	return fmt.Sprintf("%s-%s-%s-%s.tar.gz", name, version, goos, arch)
}

func rulesArchive(name, version string) string {
	return fmt.Sprintf("%s%s-%s.tar.gz", name, rulesSuffix, version)
}

// unameArch names a Go architecture as uname -m does, which is what
// falcosecurity/plugins' archive names carry.
func unameArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return goarch
}
