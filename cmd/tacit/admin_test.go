package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestServeAdminAPI: the administration API is off by default (404 on
// the main address); TACIT_ADMIN_API=true serves it on the main address;
// with TACIT_ADMIN_ADDR too it is served there and not on the main
// address.
func TestServeAdminAPI(t *testing.T) {
	call := func(url, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, tc := range []struct{ name, setting string }{{"off", ""}, {"on", "on"}, {"address", "own"}} {
		t.Run(tc.name, func(t *testing.T) {
			addr, dir := freeAddr(t), t.TempDir()
			var more []string
			adminAddr := ""
			switch tc.setting {
			case "on":
				more = []string{"TACIT_ADMIN_API", "true"}
			case "own":
				adminAddr = freeAddr(t)
				more = []string{"TACIT_ADMIN_API", "true", "TACIT_ADMIN_ADDR", adminAddr}
			}
			getenv := fastEnv(dir, more...)
			var stderr lockedBuffer
			stop := startServe(t, addr, getenv, &stderr)
			defer stop()
			var out bytes.Buffer
			if err := run(context.Background(), []string{"admin-tokens", "add", "ops", "--scope", "read"}, getenv, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			token := regexp.MustCompile(`tacit_admin_\S+`).FindString(out.String())
			if token == "" {
				t.Fatalf("no token in %q", out.String())
			}

			code, body := call("http://"+addr+"/admin/api/accounts", token)
			if want := map[string]int{"": 404, "on": 200, "own": 404}[tc.setting]; code != want {
				t.Errorf("main address: %d %s, want %d", code, body, want)
			}
			if tc.setting == "on" && body != `{"accounts":[]}`+"\n" {
				t.Errorf("main address: %s", body)
			}
			if adminAddr != "" {
				if !strings.Contains(stderr.String(), "administration API at http://"+adminAddr+"/admin/api/ (not on the main address)") {
					t.Errorf("log does not say where the API is:\n%s", stderr.String())
				}
				if code, body := call("http://"+adminAddr+"/admin/api/accounts", token); code != 200 || body != `{"accounts":[]}`+"\n" {
					t.Errorf("own address: %d %s", code, body)
				}
				if code, _ := call("http://"+adminAddr+"/admin/api/accounts", ""); code != 401 {
					t.Errorf("own address without a token: %d", code)
				}
				if code, _ := call("http://"+adminAddr+"/login", ""); code != 404 {
					t.Errorf("own address serves the pages: /login %d", code)
				}
			}
			if strings.Contains(stderr.String(), token) || strings.Contains(stderr.String(), strings.SplitN(token, ".", 2)[1]) {
				t.Errorf("the token is in the log")
			}
		})
	}
}
