#!/usr/bin/env python3
"""Splits a corpus target file into one file per endpoint.

usage: split_target.py TARGET.yaml OUTDIR   (prints the files written)

Used by run.sh with CORPUS_ISOLATE=1, so that each endpoint is scanned with
identifiers of its own: in one scan, the scanner's unknown identifiers are
shared by every endpoint, and a sign-up endpoint that creates accounts makes
them known before the reset endpoint is probed. Works on the corpus targets'
layout (top-level keys, then "endpoints:" with "  - name:" items).
"""
import os
import re
import sys

src, outdir = sys.argv[1], sys.argv[2]
text = open(src, encoding="utf-8").read()
head, rest = text.split("endpoints:\n", 1)
for item in re.split(r"\n(?=  - name:)", rest):
    name = item.split("\n", 1)[0].split(":", 1)[1].strip()
    path = os.path.join(outdir, name + ".yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + "endpoints:\n" + item.rstrip("\n") + "\n")
    print(path)
