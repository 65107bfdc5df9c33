package scan_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
)

// Scan a lab application whose sign-in sends a debugging header only for
// real accounts.
func Example() {
	app, _ := lab.Lookup("header")
	srv := httptest.NewServer(app.New())
	defer srv.Close()

	target, err := scan.LoadTarget(strings.NewReader(`
base_url: ` + srv.URL + `
known: [alice@lab.example]
endpoints:
  - name: login
    kind: login
    path: /api/login
    json: {email: "{{identifier}}", password: "{{password}}"}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	report, err := (&scan.Scanner{Probes: 4}).Scan(context.Background(), target)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range report.Findings {
		fmt.Println(f.Rule, f.Severity, f.Endpoint)
		fmt.Println(f.Evidence.Known.Observed, "|", f.Evidence.Unknown.Observed)
	}
	// Output:
	// USER_ENUM_HEADERS medium login
	// X-Account-Status: active | X-Account-Status absent
}

func ExampleLoadTarget() {
	_, err := scan.LoadTarget(strings.NewReader(`
base_url: http://127.0.0.1:8080
known: [alice@app.example]
endpoints:
  - name: login
    kind: logon
    path: /login
    form: {email: "{{identifier}}"}
`))
	fmt.Println(err)
	// Output:
	// line 6: endpoints[0].kind: unknown kind "logon"; want one of login, register, reset, resend, email_change, other, webauthn_options
}
