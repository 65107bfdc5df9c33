#!/usr/bin/env python3
"""Compares tacit scan JSON reports with the corpus ground truth.

usage: summarize.py [--timing] [--only ENDPOINT] APP=REPORT.json ...

For each app, reads scan/corpus/APP/expected.tsv (the verdicts that the
ground truth in GROUND_TRUTH.md calls for) and the scanner's JSON report,
and prints one row per endpoint: the ground truth, the scanner's verdict and
the outcome (found, missed, false alarm, inconclusive, agrees-clean). Without
--timing only the content channels (status, body, headers, cookies,
redirect, length) are judged, since a scan without --timing cannot see a
timing leak. --only judges one endpoint of each app (a scan of that
endpoint alone, as timing.sh runs). Exits 1 if any row is not found/agrees-clean.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def expected(app):
    rows = {}
    with open(os.path.join(HERE, app, "expected.tsv"), encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, content, timing, rule, why = line.rstrip("\n").split("\t")
            rows[name] = dict(content=content, timing=timing, rule=rule, why=why)
    return rows


def kinds(app):
    """Endpoint name -> kind in the app's hand-written target.yaml."""
    text = open(os.path.join(HERE, app, "target.yaml"), encoding="utf-8").read()
    return dict(re.findall(r"^  - name: (\S+)\n    kind: (\S+)", text, re.M))


def by_kind(eps, app, name):
    """The report's endpoint of the same kind as the hand-written target's
    NAME, when the report names it otherwise (a target from tacit scan
    init names endpoints login, register, reset) and holds one such."""
    kind = kinds(app).get(name)
    same = [ep for ep in eps.values() if ep.get("kind") == kind]
    return same[0] if kind and len(same) == 1 else None


def verdict(ep, findings):
    """The scanner's verdict on one endpoint: (leak|clean|inconclusive, detail)."""
    mine = [f for f in findings if f.get("endpoint") == ep["name"]]
    rules = sorted({f["rule"] for f in mine})
    v = ep.get("verdict")  # newer scanners say it themselves
    if isinstance(v, dict):
        v = v.get("verdict") or v.get("status")
    if v in ("leak", "clean", "inconclusive"):
        why = ep.get("reason") or ep.get("verdict_reason") or ""
        if not why and ep.get("inconclusive"):
            # the scanner's reasons for an inconclusive endpoint (or for
            # pairs it could not compare on a leaky one), first one only
            why = "; ".join(ep["inconclusive"])
        if v == "inconclusive" and why:
            return v, why
        return v, ",".join(rules) or why
    if ep.get("error"):
        return "inconclusive", ep["error"]
    if mine:
        return "leak", ",".join(rules)
    return "clean", ""


def main(argv):
    timing = False
    only = None
    while argv and argv[0] in ("--timing", "--only"):
        if argv[0] == "--timing":
            timing, argv = True, argv[1:]
        else:
            only, argv = argv[1], argv[2:]
    bad = 0
    rows = []
    for arg in argv:
        app, path = arg.split("=", 1)
        exp = expected(app)
        if only:
            exp = {k: v for k, v in exp.items() if k == only}
        try:
            with open(path, encoding="utf-8") as f:
                rep = json.load(f)
        except (OSError, ValueError) as e:
            for name in exp:
                rows.append((app, name, "-", "no report", "inconclusive", str(e)))
                bad += 1
            continue
        eps = {ep["name"]: ep for ep in rep.get("endpoints") or []}
        findings = rep.get("findings") or []
        for name, e in exp.items():
            truth = "leak" if e["content"] == "leak" or (timing and e["timing"] == "leak") else "clean"
            ep = eps.get(name) or by_kind(eps, app, name)
            if ep is None:
                rows.append((app, name, truth, "not scanned", "inconclusive", ""))
                bad += 1
                continue
            v, detail = verdict(ep, findings)
            if v == "leak" and detail == "USER_ENUM_TIMING" and truth == "clean":
                # a timing finding is judged against the timing ground
                # truth, even from a scan that was not asked for --timing
                truth = {"leak": "leak", "?": "?"}.get(e["timing"], "clean")
            if v == "inconclusive":
                outcome = "inconclusive"
            elif truth == "?":
                outcome = "timing (not decided by hand)"
            elif truth == "leak" and v == "leak":
                outcome = "found"
                if e["rule"] != "-" and e["rule"] not in detail.split(","):
                    outcome = "found (rule %s expected)" % e["rule"]
            elif truth == "leak":
                outcome = "MISSED"
            elif v == "leak":
                outcome = "FALSE ALARM"
            else:
                outcome = "agrees (clean)"
            if outcome not in ("found", "agrees (clean)", "timing (not decided by hand)"):
                bad += 1
            notes = len(ep.get("notes") or [])
            if notes and not detail:
                detail = "%d note(s)" % notes
            rows.append((app, name, truth, v, outcome, detail))
    head = ("app", "endpoint", "ground truth", "scanner", "outcome", "rules / reason")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    fmt = "| " + " | ".join("%%-%ds" % w for w in widths) + " |"
    print(fmt % head)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(fmt % r)
    print("%d of %d endpoints as the ground truth says (%s)" % (
        len(rows) - bad, len(rows), "content and timing" if timing else "content channels; timing not scanned"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
