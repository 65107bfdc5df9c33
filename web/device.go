package web

import (
	"strings"
	"unicode/utf8"
)

// deviceName makes a short label for a session list from a User-Agent:
// "Firefox on Linux", "Safari on iPhone", or the start of the string when
// it names nothing known. It is a label for people to recognise their own
// devices, not detection, so a handful of substring checks is enough and a
// User-Agent parsing dependency would buy nothing.
func deviceName(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	browser, system := browserOf(ua), systemOf(ua)
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "A browser on " + system
	}
	return truncate(ua, 40)
}

// browserOf names the browser in ua. Order matters: Edge and Opera say
// "Chrome", and Chrome says "Safari".
func browserOf(ua string) string {
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"CriOS/", "Chrome"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
		{"curl/", "curl"}, {"Go-http-client/", "Go program"},
	} {
		if strings.Contains(ua, b.token) {
			return b.name
		}
	}
	return ""
}

// systemOf names the operating system or device in ua. iPhones and
// Android phones say "like Mac OS X" and "Linux", so they come first.
func systemOf(ua string) string {
	for _, s := range []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"},
		{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			return s.name
		}
	}
	return ""
}

// truncate cuts s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
