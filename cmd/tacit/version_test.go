package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestVersionLine checks the version line against the build info go build
// records, and the fallbacks when it records less.
func TestVersionLine(t *testing.T) {
	tail := " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	vcs := func(rev, at, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: at}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tt := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"release", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"},
			Settings: vcs("0123456789abcdef0123456789abcdef01234567", "2026-12-07T04:00:00Z", "false")},
			true, "tacit v1.2.0 (rev 0123456789ab, 2026-12-07T04:00:00Z)"},
		{"modified tree", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261207040000-0123456789ab+dirty"},
			Settings: vcs("0123456789abcdef0123456789abcdef01234567", "2026-12-07T04:00:00Z", "true")},
			true, "tacit v0.0.0-20261207040000-0123456789ab+dirty (rev 0123456789ab, 2026-12-07T04:00:00Z, modified)"},
		{"go run", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "tacit (devel)"},
		{"test binary", &debug.BuildInfo{}, true, "tacit (devel)"},
		{"no build info", nil, false, "tacit (devel)"},
		{"short revision", &debug.BuildInfo{Settings: vcs("abc", "", "")}, true, "tacit (devel) (rev abc)"},
	} {
		if got := versionLine(tt.bi, tt.ok); got != tt.want+tail {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want+tail)
		}
	}
}

// TestNearestEnv checks the suggestions of the unknown-variable warning:
// typos find their setting, unrelated names find none.
func TestNearestEnv(t *testing.T) {
	for name, want := range map[string]string{
		"TACIT_ADRR":         "TACIT_ADDR",
		"TACIT_DATADIR":      "TACIT_DATA_DIR",
		"TACIT_BASE_ULR":     "TACIT_BASE_URL",
		"TACIT_CONFG":        "TACIT_CONFIG",
		"TACIT_LIMIT_LOGN":   "TACIT_LIMIT_LOGIN",
		"TACIT_X":            "",
		"TACIT_FROBNICATE":   "",
		"TACIT_SECRET_TOKEN": "",
	} {
		if got := nearestEnv(name); got != want {
			t.Errorf("nearestEnv(%s) = %q, want %q", name, got, want)
		}
	}
	got := unknownEnv([]string{"TACIT_B=1", "PATH=/bin", "TACIT_ADDR=x", "TACIT_A=1", "TACIT_TEST_POSTGRES=x", "TACIT_E=", "TACIT_B=2"},
		func(k string) string {
			return map[string]string{"TACIT_A": "1", "TACIT_B": "1", "TACIT_ADDR": "x", "TACIT_TEST_POSTGRES": "x"}[k]
		})
	if len(got) != 2 || got[0] != "TACIT_A" || got[1] != "TACIT_B" {
		t.Errorf("unknownEnv = %q, want [TACIT_A TACIT_B]", got)
	}
}
