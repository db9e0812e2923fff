package host

import (
	"strings"
	"testing"
)

// The test plugin requires the SDK's default, 3.11.0: libsinsp's rule
// accepts it from 3.11.0 on, within major 3 only.
func TestCheckRequiredAPIVersionFollowsLibsinsp(t *testing.T) {
	for _, c := range []struct {
		fw   APIVersion
		fail string
	}{
		{APIVersion{3, 11, 0}, ""},
		{APIVersion{3, 12, 0}, ""},
		{APIVersion{3, 10, 5}, "framework's minor is less than the requested one"},
		{APIVersion{4, 11, 0}, "major versions disagree"},
	} {
		err := plug.CheckRequiredAPIVersion(c.fw)
		if c.fail == "" {
			if err != nil {
				t.Errorf("%s: %v", c.fw, err)
			}
			continue
		}
		want := "plugin required API version '3.11.0' not compatible with the framework's API version '" + c.fw.String() + "': " + c.fail
		if err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", c.fw, err, want)
		}
		if _, err := plug.InitWith("", InitOptions{Framework: c.fw}); err == nil || !strings.Contains(err.Error(), c.fail) {
			t.Errorf("%s: InitWith error %v, want the version refusal", c.fw, err)
		}
	}
}

func TestInitWithoutLogHasNoLogs(t *testing.T) {
	s := mustInit(t, "")
	if recs, dropped := s.Logs(); recs != nil || dropped != 0 {
		t.Errorf("Logs() = %v, %d without InitOptions.Log", recs, dropped)
	}
}
