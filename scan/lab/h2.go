package lab

import (
	"net/http"
	"net/http/httptest"
)

// ServeHTTP2 serves f on a loopback port, in HTTP/2 as well as HTTP/1.1,
// for the scanner's order test: over TLS with ALPN h2 when encrypted is
// set (the client of the returned server trusts its certificate), in
// clear text with prior knowledge (h2c) otherwise. The caller closes it.
//
// SlowKnown served so is the order test's fixture: a few microseconds
// more for the known address only, and with 0 the equal one.
func ServeHTTP2(f Fixture, encrypted bool) *httptest.Server {
	srv := httptest.NewUnstartedServer(f.New())
	if encrypted {
		srv.EnableHTTP2 = true
		srv.StartTLS()
		return srv
	}
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	return srv
}
