package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tacitauth/tacit/scan"
)

// initOptions are the flags of "tacit scan init".
type initOptions struct {
	har, known, output string
	maxPages           int
	timeout            time.Duration
	url                string
}

// runScanInit is "tacit scan init": it discovers the account forms from a
// URL, or reads them from a HAR file, and writes the target file to review.
func runScanInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o initOptions
	fs := flag.NewFlagSet("scan init", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.har, "har", "", "read the requests of this HAR file instead of discovering")
	fs.StringVar(&o.known, "known", "", "identifiers that have an account, separated by commas")
	fs.StringVar(&o.output, "o", "", "write the target file here instead of stdout")
	fs.IntVar(&o.maxPages, "max-pages", scan.DefaultDiscoverPages, "pages the discovery fetches at most")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "time limit of each request")
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, scanUsage)
				return nil
			}
			return usageError{"scan init: " + err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case o.har != "" && len(rest) > 0:
		return usageError{fmt.Sprintf("scan init: unexpected argument %q (--har reads the requests from the file)", rest[0])}
	case o.har == "" && len(rest) != 1:
		return usageError{"scan init: give the URL to discover forms from, or --har FILE"}
	case o.har == "":
		o.url = rest[0]
	}
	known := splitKnown(o.known)
	client := &http.Client{Timeout: o.timeout}
	var disc *scan.Discovery
	var source string
	if o.har != "" {
		f, err := os.Open(o.har)
		if err != nil {
			return scanFailure("%w", err)
		}
		defer f.Close()
		if disc, err = scan.DiscoverHAR(f); err != nil {
			return scanFailure("%s: %w", o.har, err)
		}
		source = o.har
	} else {
		d := &scan.Discoverer{Client: client, MaxPages: o.maxPages}
		var err error
		if disc, err = d.Discover(ctx, o.url); err != nil {
			return scanFailure("%w", err)
		}
		source = o.url
	}
	text := disc.TargetFile(source, ids(known))
	describeDiscovery(stderr, disc)
	if len(disc.Forms) == 0 {
		return scanFailure("%s: no sign-in, sign-up or password reset form found in %d pages; write the target file by hand", source, len(disc.Pages))
	}
	if o.har == "" { // a recording's host may be anywhere; it is not contacted
		if _, err := checkSignIn(ctx, client, text, known, stderr); err != nil {
			return err
		}
	}
	if o.output == "" {
		_, err := io.WriteString(stdout, text)
		return err
	}
	if err := os.WriteFile(o.output, []byte(text), 0o644); err != nil {
		return scanFailure("-o: %w", err)
	}
	if len(known) == 0 {
		fmt.Fprintf(stderr, "wrote %s; replace its placeholder known identifier with an account's, review it, then: tacit scan -f %s\n", o.output, o.output)
	} else {
		fmt.Fprintf(stderr, "wrote %s; review it, then: tacit scan -f %s\n", o.output, o.output)
	}
	return nil
}

// discoverTarget is the target of "tacit scan URL": what discovery finds,
// said on stderr, with the known identifiers.
func discoverTarget(ctx context.Context, client *http.Client, start, known string, maxPages int, stderr io.Writer) (string, error) {
	d := &scan.Discoverer{Client: client, MaxPages: maxPages}
	disc, err := d.Discover(ctx, start)
	if err != nil {
		return "", scanFailure("%w", err)
	}
	accounts := splitKnown(known)
	text := disc.TargetFile(start, ids(accounts))
	describeDiscovery(stderr, disc)
	if len(disc.Forms) == 0 {
		return "", scanFailure("%s: no sign-in, sign-up or password reset form found in %d pages; write a target file (-f)", start, len(disc.Pages))
	}
	if len(accounts) == 0 {
		return "", scanFailure("%s: give --known ADDRESS, an identifier that has an account, to scan these forms (or write the target file with: tacit scan init %s -o target.yaml)", start, start)
	}
	ok, err := checkSignIn(ctx, client, text, accounts, stderr)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", scanFailure("%s: the known account's password does not sign in on the discovered form, so a scan would compare nothing; write the target with tacit scan init %s -o target.yaml and fix it", start, start)
	}
	return text, nil
}

// describeDiscovery says on w what the discovery found, one line a form.
func describeDiscovery(w io.Writer, d *scan.Discovery) {
	noun := "pages"
	if len(d.Pages) == 1 {
		noun = "page"
	}
	if len(d.Pages) > 0 {
		fmt.Fprintf(w, "discovered %d account forms in %d %s of %s\n", len(d.Forms), len(d.Pages), noun, d.Base)
	} else {
		fmt.Fprintf(w, "found %d account requests for %s\n", len(d.Forms), d.Base)
	}
	for _, f := range d.Forms {
		var parts []string
		parts = append(parts, "identifier "+f.Identifier)
		if len(f.Passwords) > 0 {
			parts = append(parts, "password "+strings.Join(f.Passwords, ", "))
		}
		if len(f.Fresh) > 0 {
			parts = append(parts, "from "+f.Page+" each time: "+strings.Join(f.Fresh, ", "))
		}
		fmt.Fprintf(w, "  %-8s %s %s (%s)\n", f.Kind, f.Method, scan.SanitizeLine(f.Action), scan.SanitizeLine(strings.Join(parts, "; ")))
	}
	if d.Framework != nil {
		fmt.Fprintf(w, "framework: %s (recognised by %s)\n", d.Framework.Name, scan.SanitizeLine(strings.Join(d.Framework.Evidence, ", ")))
	}
	for _, n := range d.Notes {
		fmt.Fprintf(w, "note: %s\n", scan.SanitizeLine(n))
	}
}

// knownAccount is one identifier of --known, with its password when
// given as IDENTIFIER:PASSWORD.
type knownAccount struct{ id, password string }

// splitKnown reads --known: identifiers separated by commas, each
// optionally followed by a colon and the account's password.
func splitKnown(s string) []knownAccount {
	var out []knownAccount
	for _, k := range strings.Split(s, ",") {
		id, pw, _ := strings.Cut(strings.TrimSpace(k), ":")
		if id != "" {
			out = append(out, knownAccount{id, pw})
		}
	}
	return out
}

// yaml writes the account as an item of a target file's known list:
// the identifier, or the identifier and password.
func (k knownAccount) yaml() string {
	if k.password == "" {
		return strconv.Quote(k.id)
	}
	return fmt.Sprintf("{identifier: %s, password: %s}", strconv.Quote(k.id), strconv.Quote(k.password))
}

func ids(known []knownAccount) []string {
	var out []string
	for _, k := range known {
		out = append(out, k.id)
	}
	return out
}

// checkSignIn signs in with the first known account that has a password,
// and with a wrong one, on the target's sign-in endpoint, and says on w
// whether the password made a difference. It returns false when it did
// not: the target does not reach the application's logic as written.
func checkSignIn(ctx context.Context, client *http.Client, text string, known []knownAccount, w io.Writer) (bool, error) {
	i := slices.IndexFunc(known, func(k knownAccount) bool { return k.password != "" })
	if i < 0 {
		return true, nil
	}
	target, err := scan.LoadTarget(strings.NewReader(text))
	if err != nil {
		return false, scanFailure("the discovered target: %w", err)
	}
	c, err := scan.CheckSignIn(ctx, client, target, known[i].id, known[i].password)
	if err != nil {
		return false, scanFailure("sign-in check: %w", err)
	}
	if c.SignsIn {
		fmt.Fprintf(w, "sign-in check: %s's password signs in on %s (%s; a wrong password: %s)\n", known[i].id, c.Endpoint, scan.SanitizeLine(c.Right), scan.SanitizeLine(c.Wrong))
		return true, nil
	}
	fmt.Fprintf(w, "sign-in check: %s's password got the same answer on %s as a wrong one (%s): the identifier or password field, a hidden field or the before step is wrong, or the password is\n", known[i].id, c.Endpoint, scan.SanitizeLine(c.Right))
	return false, nil
}
