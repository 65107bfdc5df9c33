package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeMetrics: TACIT_METRICS=on serves /metrics on the main
// address; an address serves it there and not on the main one; off (the
// default) serves nothing.
func TestServeMetrics(t *testing.T) {
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, tc := range []struct{ name, setting string }{{"off", ""}, {"on", "on"}, {"address", "own"}} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			var more []string
			metricsAddr := ""
			switch tc.setting {
			case "on":
				more = []string{"TACIT_METRICS", "on"}
			case "own":
				metricsAddr = freeAddr(t)
				more = []string{"TACIT_METRICS", metricsAddr}
			}
			var stderr lockedBuffer
			stop := startServe(t, addr, fastEnv(t.TempDir(), more...), &stderr)
			defer stop()
			code, body := get("http://" + addr + "/metrics")
			if want := map[string]int{"": 404, "on": 200, "own": 404}[tc.setting]; code != want {
				t.Errorf("main address /metrics: %d, want %d", code, want)
			}
			if tc.setting == "on" && !strings.Contains(body, "tacit_outbox_pending 0") {
				t.Errorf("metrics: %s", body)
			}
			if metricsAddr != "" {
				if !strings.Contains(stderr.String(), "metrics at http://"+metricsAddr+"/metrics") {
					t.Errorf("log does not say where the metrics are: %s", stderr.String())
				}
				code, body := get("http://" + metricsAddr + "/metrics")
				if code != 200 || !strings.Contains(body, `tacit_http_requests_total{route="/",status="404"} 1`) {
					t.Errorf("own address /metrics: %d %s", code, body)
				}
			}
		})
	}
}
