package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// environ lists the process's environment; tests replace it.
var environ = os.Environ

// testEnvPrefix starts the names of the variables the test suite reads
// (TACIT_TEST_POSTGRES…): they are not settings, and are not warned about.
const testEnvPrefix = "TACIT_TEST_"

// otherEnv are the other TACIT_* variables that are not settings but
// have a use: the test suite's.
var otherEnv = []string{"TACIT_UPDATE_SCREENSHOTS"}

// warnUnknownEnv writes one line to stderr for each set TACIT_* variable
// that is no setting, with the setting it most likely meant. A misspelt
// key in the YAML file is refused, but a misspelt variable cannot be: the
// environment holds all sorts, and an unknown variable may be meant for
// another version of tacit. So it is warned about, or the setting would
// keep its default unnoticed. getenv decides which are set, as it does
// for the settings: an empty variable counts as unset.
func warnUnknownEnv(getenv func(string) string, stderr io.Writer) {
	for _, name := range unknownEnv(environ(), getenv) {
		msg := "tacit: warning: " + name + " is not a setting"
		if near := nearestEnv(name); near != "" {
			msg += " (did you mean " + near + "?)"
		} else {
			msg += " (\"tacit help\" lists them)"
		}
		fmt.Fprintln(stderr, msg)
	}
}

// unknownEnv returns the names of the TACIT_* variables in env (as
// os.Environ gives it) that are set and are neither a setting nor one of
// the test suite's, each once, sorted.
func unknownEnv(env []string, getenv func(string) string) []string {
	known := knownEnv()
	var out []string
	seen := map[string]bool{}
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "TACIT_") || known[name] || seen[name] ||
			strings.HasPrefix(name, testEnvPrefix) || getenv(name) == "" {
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// knownEnv is the set of variables tacit reads: every setting's, and
// TACIT_CONFIG.
func knownEnv() map[string]bool {
	known := map[string]bool{configEnv: true}
	for _, s := range settings {
		known[s.env()] = true
	}
	for _, n := range otherEnv {
		known[n] = true
	}
	return known
}

// nearestEnv returns the setting variable closest to name by edit
// distance, if it is close enough to be a typo: at most 2 edits, and
// fewer than a third of the name after TACIT_. "" when none is.
func nearestEnv(name string) string {
	best, bestD := "", 0
	for _, s := range append([]setting{{key: strings.ToLower(strings.TrimPrefix(configEnv, "TACIT_"))}}, settings...) {
		env := s.env()
		d := editDistance(name, env)
		if best == "" || d < bestD {
			best, bestD = env, d
		}
	}
	rest := len(strings.TrimPrefix(name, "TACIT_"))
	if bestD > 2 || bestD*3 >= rest {
		return ""
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance (optimal string
// alignment) between a and b, in bytes: insertions, deletions,
// substitutions and swaps of neighbours each count one.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
