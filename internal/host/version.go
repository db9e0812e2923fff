package host

/*
#include "cwrap.h"
*/
import "C"

import "fmt"

// APIVersion is a plugin API version, as plugin_get_required_api_version
// reports it and as a framework (libsinsp) declares its own.
type APIVersion struct{ Major, Minor, Patch uint32 }

func (v APIVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// HeaderAPIVersion is the version of the plugin API headers this host is
// built with (include/plugin_api.h): the newest layout it can present.
var HeaderAPIVersion = APIVersion{C.PLUGIN_API_VERSION_MAJOR, C.PLUGIN_API_VERSION_MINOR, C.PLUGIN_API_VERSION_PATCH}

// ParseAPIVersion parses "major.minor.patch".
func ParseAPIVersion(s string) (APIVersion, error) {
	var v APIVersion
	var rest string
	if n, _ := fmt.Sscanf(s, "%d.%d.%d%s", &v.Major, &v.Minor, &v.Patch, &rest); n != 3 {
		return v, fmt.Errorf("invalid API version %q", s)
	}
	return v, nil
}

// CheckRequiredAPIVersion applies libsinsp's rule for loading a plugin into
// a framework of API version fw (falcosecurity/libs
// userspace/plugin/plugin_loader.c, plugin_check_required_api_version):
// same major, and a framework minor (then patch) not below the plugin's. The
// error text is the loader's.
func (p *Plugin) CheckRequiredAPIVersion(fw APIVersion) error {
	req := p.info.RequiredAPIVersion
	v, err := ParseAPIVersion(req)
	if err != nil {
		return fmt.Errorf("plugin provided an invalid required API version: '%s'", req)
	}
	var why string
	switch {
	case fw.Major != v.Major:
		why = "major versions disagree"
	case fw.Minor < v.Minor:
		why = "framework's minor is less than the requested one"
	case fw.Minor == v.Minor && fw.Patch < v.Patch:
		why = "framework's patch is less than the requested one"
	default:
		return nil
	}
	return fmt.Errorf("plugin required API version '%s' not compatible with the framework's API version '%s': %s", req, fw, why)
}
