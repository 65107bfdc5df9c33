package flow_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// notAnonymous are the exported methods of *flow.Service that take no
// Identity and yet need not run through paced, each with its reason.
// Anything else that takes no Identity is an anonymous flow: a request an
// outsider can make about any address, which must be paced.
var notAnonymous = map[string]string{
	"Mode":                "configuration, read when pages are drawn",
	"Policy":              "configuration, read when pages are drawn",
	"Limits":              "configuration, read when pages are drawn",
	"SessionIdle":         "configuration, read when pages are drawn",
	"EnvelopeOverruns":    "the operator's figure, not a request",
	"LogOverruns":         "the operator's setting, not a request",
	"Envelope":            "the operator's figure, not a request",
	"RecalibrateEnvelope": "the service's own background work, not a request",
	"SetCounterTableFull": "the trimmer's signal, not a request",
	"Session":             "runs on every signed-in request; its answer depends on the caller's own session token alone",
	"CheckSession":        "forward auth: Session from memory; its answer depends on the caller's own session token alone",
	"Logout":              "ends the caller's own session; always Done",
	"ResetTokenLive":      "a mailed link's page: the answer depends on the link alone, which only its mailbox's holder has",
	"ResetAddress":        "a mailed link's page: the answer depends on the link alone, which only its mailbox's holder has",
	"SignupAddress":       "a mailed link's page: the answer depends on the link alone, which only its mailbox's holder has",
	"CompleteAddress":     "a mailed link's page: the answer depends on the link alone, which only its mailbox's holder has",
	"EmailChangeAddress":  "a mailed link's page: the answer depends on the link alone, which only its mailbox's holder has",
	"PasskeysOn":          "configuration, read when pages are drawn",
	"ProofMode":           "configuration, read when pages are drawn",
	"ProofChallenge":      "takes nothing and names nobody: a fresh challenge for every caller",
	"ProofNeeded":         "reads the client's own counter only, never an address; the gated flows run it inside paced",
	"PasskeyLoginOptions": "takes nothing and names nobody: the same fresh options for every caller",
	"PasskeySecondStep":   "answers only the holder of a second-step token, which only the right password gets",
	"AdmitClientAuth":     "an OpenID Connect client's id, never an address: counted alike whether the client exists or not",
	"ClientAuthPassed":    "takes back the count of an authenticated client; answers nothing",
	"Operator":            "hands the operator's actions to the administration API, which only a bearer token reaches and which says whether an address has an account by design",
}

// pacedSignedIn are flows that take an Identity and are paced all the
// same: their answer must not tell whether another address has an account.
var pacedSignedIn = []string{"ChangeEmail"}

// TestAnonymousFlowsPaced reads the package's source: every exported
// method of *Service that takes no Identity (and is not in notAnonymous)
// answers through paced, but for Invalid answers from the input alone
// (return tacit.InvalidInput(…), nil), and nothing but paced calls pace or
// workDone. A new anonymous flow that forgets paced fails here.
func TestAnonymousFlowsPaced(t *testing.T) {
	fset := token.NewFileSet()
	var files []*ast.File
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	problems, methods := unpaced(files)
	for _, p := range problems {
		t.Error(p)
	}
	for name := range notAnonymous {
		if !slices.Contains(methods, name) {
			t.Errorf("notAnonymous lists %s, which *Service no longer has", name)
		}
	}
	if !slices.Contains(methods, "Login") || !slices.Contains(methods, "ResetPassword") {
		t.Fatalf("found only %v: the source was not read", methods)
	}
}

// TestAnonymousFlowsPacedCatches: the check reports a new anonymous flow
// without paced, one that answers through it on one path only, and a
// pace of its own outside paced.
func TestAnonymousFlowsPacedCatches(t *testing.T) {
	const src = `package flow
func (s *Service) Forgotten(ctx context.Context, email string, c Client) (tacit.Outcome, error) {
	return s.lookup(ctx, email)
}
func (s *Service) Halfway(ctx context.Context, email string, c Client) (tacit.Outcome, error) {
	if email == "x" {
		return tacit.Outcome{Kind: tacit.Done}, nil
	}
	return s.paced(ctx, func() (tacit.Outcome, error) { return s.lookup(ctx, email) })
}
func (s *Service) OwnPace(ctx context.Context, email string) (tacit.Outcome, error) {
	defer s.pace(ctx, time.Now())
	return s.paced(ctx, func() (tacit.Outcome, error) { return s.lookup(ctx, email) })
}
func (s *Service) Fine(ctx context.Context, email string) (tacit.Outcome, error) {
	if email == "" {
		return tacit.InvalidInput(nil), nil
	}
	return s.paced(ctx, func() (tacit.Outcome, error) { return s.lookup(ctx, email) })
}
func (s *Service) NoOutcome(ctx context.Context, email string) string { return email }
func (s *Service) SignedIn(ctx context.Context, id Identity) (tacit.Outcome, error) { return s.lookup(ctx, "") }
`
	f, err := parser.ParseFile(token.NewFileSet(), "new.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	problems, _ := unpaced([]*ast.File{f})
	got := strings.Join(problems, "\n")
	for _, want := range []string{"Forgotten", "Halfway", "OwnPace", "NoOutcome"} {
		if !strings.Contains(got, want) {
			t.Errorf("the check missed %s:\n%s", want, got)
		}
	}
	for _, fine := range []string{"Fine", "SignedIn"} {
		if strings.Contains(got, fine) {
			t.Errorf("the check reported %s:\n%s", fine, got)
		}
	}
}

// unpaced returns what breaks the pacing rule in files, and the exported
// methods of *Service it saw.
func unpaced(files []*ast.File) (problems, methods []string) {
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			if fd.Name.Name != "paced" {
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					if sel, ok := callee(n); ok && (sel.Sel.Name == "pace" || sel.Sel.Name == "workDone") {
						problems = append(problems, fmt.Sprintf("%s calls %s itself: only paced may", fd.Name.Name, sel.Sel.Name))
					}
					return true
				})
			}
			recv := serviceReceiver(fd)
			if recv == "" || !fd.Name.IsExported() {
				continue
			}
			name := fd.Name.Name
			methods = append(methods, name)
			if _, ok := notAnonymous[name]; ok {
				continue
			}
			if takesIdentity(fd) && !slices.Contains(pacedSignedIn, name) {
				continue
			}
			if !returnsOutcome(fd) {
				problems = append(problems, fmt.Sprintf("%s takes no Identity and answers no Outcome: run it through paced, or list it in notAnonymous with its reason", name))
				continue
			}
			problems = append(problems, checkReturns(fd, recv)...)
		}
	}
	return problems, methods
}

// checkReturns checks that each return of fd's own body (not of the
// functions it defines) answers through paced or is an Invalid answer.
func checkReturns(fd *ast.FuncDecl, recv string) []string {
	var problems []string
	throughPaced := false
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			switch {
			case len(n.Results) == 1 && isCall(n.Results[0], recv, "paced"):
				throughPaced = true
			case len(n.Results) == 2 && isCall(n.Results[0], "tacit", "InvalidInput"):
			default:
				problems = append(problems, fmt.Sprintf("%s answers without paced (a return that is neither s.paced(…) nor tacit.InvalidInput(…), nil)", fd.Name.Name))
			}
		}
		return true
	})
	if !throughPaced {
		problems = append(problems, fmt.Sprintf("%s never answers through paced", fd.Name.Name))
	}
	return problems
}

// serviceReceiver returns the name of fd's receiver if it is a *Service.
func serviceReceiver(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) != 1 || len(fd.Recv.List[0].Names) != 1 {
		return ""
	}
	star, ok := fd.Recv.List[0].Type.(*ast.StarExpr)
	if !ok {
		return ""
	}
	if id, ok := star.X.(*ast.Ident); !ok || id.Name != "Service" {
		return ""
	}
	return fd.Recv.List[0].Names[0].Name
}

func takesIdentity(fd *ast.FuncDecl) bool {
	for _, p := range fd.Type.Params.List {
		if id, ok := p.Type.(*ast.Ident); ok && id.Name == "Identity" {
			return true
		}
	}
	return false
}

func returnsOutcome(fd *ast.FuncDecl) bool {
	r := fd.Type.Results
	if r == nil || len(r.List) != 2 {
		return false
	}
	sel, ok := r.List[0].Type.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Outcome"
}

// callee returns the selector n calls, if n is a call of one.
func callee(n ast.Node) (*ast.SelectorExpr, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok {
		return nil, false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return sel, ok
}

// isCall reports whether e calls x.name.
func isCall(e ast.Expr, x, name string) bool {
	sel, ok := callee(e)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == x
}
