package web

import "testing"

func TestDeviceName(t *testing.T) {
	cases := map[string]string{
		firefoxLinux: "Firefox on Linux",
		safariPhone:  "Safari on iPhone",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0": "Edge on Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36":         "Chrome on macOS",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15":            "Safari on macOS",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36":         "Chrome on Android",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0": "Opera on Windows",
		"curl/8.8.0":                            "curl",
		"Go-http-client/1.1":                    "Go program",
		"":                                      "Unknown device",
		"Mozilla/5.0 (X11; Linux x86_64) Thing": "A browser on Linux",
		"a very long agent string that names nothing we know of at all": "a very long agent string that names not…",
	}
	for ua, want := range cases {
		if got := deviceName(ua); got != want {
			t.Errorf("deviceName(%q) = %q, want %q", ua, got, want)
		}
	}
}
