package scan_test

import (
	"context"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
)

// formSummary lists a discovery's forms as "kind path".
func formSummary(d *scan.Discovery) []string {
	var out []string
	for _, f := range d.Forms {
		out = append(out, string(f.Kind)+" "+f.Action)
	}
	return out
}

// scanText scans the target file text and fails the test if it does not
// load or scan.
func scanText(t *testing.T, text string, probes int) *scan.Report {
	t.Helper()
	target, err := scan.LoadTarget(strings.NewReader(text))
	if err != nil {
		t.Fatalf("target: %v\n%s", err, text)
	}
	s := &scan.Scanner{Probes: probes, Rand: rand.New(rand.NewPCG(11, 12))}
	rep, err := s.Scan(context.Background(), target)
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, text)
	}
	return rep
}

// TestDiscoverSites discovers the forms of each framework imitation from
// its home page, past a search form and article links: the sign-in,
// sign-up and reset forms, with their CSRF tokens taken by before steps.
// The discovered target finds the same leak as the hand-written one, and
// the report names the framework and its fix.
func TestDiscoverSites(t *testing.T) {
	for _, site := range lab.Sites() {
		t.Run(site.Name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(site.New())
			defer srv.Close()
			d := &scan.Discoverer{}
			disc, err := d.Discover(context.Background(), srv.URL+site.Start)
			if err != nil {
				t.Fatal(err)
			}
			if got := formSummary(disc); !slices.Equal(got, site.Forms) {
				t.Fatalf("forms %q, want %q (pages %q)", got, site.Forms, disc.Pages)
			}
			if disc.Framework == nil || disc.Framework.Name != site.Framework {
				t.Errorf("discovery framework %+v, want %s", disc.Framework, site.Framework)
			}
			text := disc.TargetFile(srv.URL+site.Start, []string{lab.Known})
			rep := scanText(t, text, 4)
			hand := scanText(t, site.Target(srv.URL), 4)
			if got, want := rules(rep), rules(hand); !slices.Equal(got, want) || !slices.Contains(got, site.Want) {
				t.Errorf("discovered target found %q, hand-written %q, want %s\n%s", got, want, site.Want, text)
			}
			for _, e := range rep.Endpoints {
				if e.Error != "" || len(e.Notes) > 0 {
					t.Errorf("endpoint %s: error %q, notes %q\n%s", e.Name, e.Error, e.Notes, text)
				}
			}
			if rep.Framework == nil || rep.Framework.Name != site.Framework {
				t.Fatalf("scan framework %+v, want %s", rep.Framework, site.Framework)
			}
			for _, f := range rep.Findings {
				if !strings.Contains(f.Advice, site.Advice) {
					t.Errorf("finding %s on %s: advice %q, want it to name %q", f.Rule, f.Endpoint, f.Advice, site.Advice)
				}
			}
			var b strings.Builder
			scan.WriteText(&b, rep)
			if !strings.Contains(b.String(), "Framework: "+site.Framework) || !strings.Contains(b.String(), "In this framework: ") {
				t.Errorf("text report does not name the framework and its fix:\n%s", b.String())
			}
		})
	}
}

// TestDiscoverSiteFields checks the field guesses on the forms with
// hidden fields: CSRF tokens are fresh (taken by a before step), a static
// hidden field is sent as it is, the identifier is the email field, and a
// second text field on a sign-up form gets a random value.
func TestDiscoverSiteFields(t *testing.T) {
	for _, tc := range []struct {
		site  string
		kind  scan.Kind
		id    string
		pws   []string
		fresh []string
		field string // one more field, as "name=value"
	}{
		{"site-allauth", scan.KindLogin, "login", []string{"password"}, []string{"csrfmiddlewaretoken"}, "next=/"},
		{"site-allauth", scan.KindRegister, "email", []string{"password1", "password2"}, []string{"csrfmiddlewaretoken"}, ""},
		{"site-devise", scan.KindLogin, "user[email]", []string{"user[password]"}, []string{"authenticity_token"}, "user[remember_me]=0"},
		{"site-devise", scan.KindReset, "user[email]", nil, []string{"authenticity_token"}, "commit=Send me reset password instructions"},
		{"site-wordpress", scan.KindLogin, "log", []string{"pwd"}, nil, "testcookie=1"},
		{"site-wordpress", scan.KindRegister, "user_email", nil, nil, "user_login=u{{random}}"},
		{"site-wordpress", scan.KindReset, "user_login", nil, nil, "wp-submit=Get New Password"},
	} {
		t.Run(tc.site+"/"+string(tc.kind), func(t *testing.T) {
			i := slices.IndexFunc(lab.Sites(), func(s lab.Site) bool { return s.Name == tc.site })
			srv := httptest.NewServer(lab.Sites()[i].New())
			defer srv.Close()
			disc, err := (&scan.Discoverer{}).Discover(context.Background(), srv.URL+"/")
			if err != nil {
				t.Fatal(err)
			}
			j := slices.IndexFunc(disc.Forms, func(f scan.DiscoveredForm) bool { return f.Kind == tc.kind })
			if j < 0 {
				t.Fatalf("no %s form in %q", tc.kind, formSummary(disc))
			}
			f := disc.Forms[j]
			if f.Identifier != tc.id || !slices.Equal(f.Passwords, tc.pws) || !slices.Equal(f.Fresh, tc.fresh) {
				t.Errorf("identifier %q, passwords %q, fresh %q; want %q, %q, %q", f.Identifier, f.Passwords, f.Fresh, tc.id, tc.pws, tc.fresh)
			}
			if tc.field != "" {
				name, value, _ := strings.Cut(tc.field, "=")
				if !slices.Contains(f.Fields, scan.Field{Name: name, Value: value}) {
					t.Errorf("fields %q lack %s", f.Fields, tc.field)
				}
			}
		})
	}
}

// TestDiscoverTacit discovers tacit's own forms from its sign-in page:
// sign-in, sign-up and reset (and the verification resend), each with a
// before step for its CSRF token, and the discovered target scans clean.
func TestDiscoverTacit(t *testing.T) {
	for _, mode := range []flow.Mode{flow.EmailFirst, flow.FullForm} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			ts := startTacit(t, mode)
			const known = "owner@tacit.example"
			ts.signUp(t, mode, known, "a long and known password")
			disc, err := (&scan.Discoverer{}).Discover(context.Background(), ts.url+"/login")
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"login /login", "register /register", "reset /password/forgot", "resend /verify/resend"}
			if got := formSummary(disc); !slices.Equal(got, want) {
				t.Fatalf("forms %q, want %q (pages %q)", got, want, disc.Pages)
			}
			for _, f := range disc.Forms {
				if !slices.Equal(f.Fresh, []string{"csrf_token"}) || f.Identifier != "email" {
					t.Errorf("%s: identifier %q, fresh %q; want email and csrf_token", f.Kind, f.Identifier, f.Fresh)
				}
				wantPw := 0
				switch {
				case f.Kind == scan.KindLogin:
					wantPw = 1
				case f.Kind == scan.KindRegister && mode == flow.FullForm:
					wantPw = 2
				}
				if len(f.Passwords) != wantPw {
					t.Errorf("%s: passwords %q, want %d", f.Kind, f.Passwords, wantPw)
				}
			}
			text := disc.TargetFile(ts.url+"/login", []string{known})
			rep := scanText(t, text, 6)
			var b strings.Builder
			scan.WriteText(&b, rep)
			if len(rep.Findings) > 0 {
				t.Fatalf("findings on tacit with the discovered target:\n%s\n%s", text, b.String())
			}
			for _, e := range rep.Endpoints {
				if len(e.Notes) > 0 || len(e.Unstable) > 0 || e.Error != "" {
					t.Errorf("endpoint %s: notes %q, unstable %q, error %q", e.Name, e.Notes, e.Unstable, e.Error)
				}
			}
			if rep.Framework == nil || rep.Framework.Name != "tacit" {
				t.Errorf("framework %+v, want tacit", rep.Framework)
			}
		})
	}
}

// TestDiscoverPlaceholder: without a known identifier the target file
// carries the placeholder, and loading it fails with a message that says
// what to do.
func TestDiscoverPlaceholder(t *testing.T) {
	srv := httptest.NewServer(lab.Sites()[0].New())
	defer srv.Close()
	disc, err := (&scan.Discoverer{}).Discover(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	text := disc.TargetFile(srv.URL, nil)
	if !strings.Contains(text, "# TODO: replace the placeholder") {
		t.Errorf("no TODO comment:\n%s", text)
	}
	_, err = scan.LoadTarget(strings.NewReader(text))
	if err == nil || !strings.Contains(err.Error(), "known[0]: is the placeholder") {
		t.Fatalf("load: %v", err)
	}
}

// TestDiscoverBudget: the page budget bounds the crawl, and account links
// are followed before the others, so a budget of three pages still
// reaches the sign-in page from the home page.
func TestDiscoverBudget(t *testing.T) {
	srv := httptest.NewServer(lab.Sites()[2].New())
	defer srv.Close()
	disc, err := (&scan.Discoverer{MaxPages: 2}).Discover(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(disc.Pages) != 2 || !strings.HasSuffix(disc.Pages[1], "/wp-login.php") {
		t.Errorf("pages %q, want the home page and /wp-login.php", disc.Pages)
	}
	if len(disc.Forms) != 1 || disc.Forms[0].Kind != scan.KindLogin {
		t.Errorf("forms %q", formSummary(disc))
	}
}

// siteReport scans the lab site named name with its hand-written target.
func siteReport(t *testing.T, name string) *scan.Report {
	t.Helper()
	i := slices.IndexFunc(lab.Sites(), func(s lab.Site) bool { return s.Name == name })
	site := lab.Sites()[i]
	srv := httptest.NewServer(site.New())
	defer srv.Close()
	return scanText(t, site.Target(srv.URL), 3)
}
