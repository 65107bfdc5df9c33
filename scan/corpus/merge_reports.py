#!/usr/bin/env python3
"""Merges tacit scan JSON reports of one target's endpoints into one.

usage: merge_reports.py OUT.json IN.json ...
"""
import json
import sys

out, ins = sys.argv[1], sys.argv[2:]
merged = None
for p in ins:
    try:
        with open(p, encoding="utf-8") as f:
            r = json.load(f)
    except (OSError, ValueError):
        continue
    if merged is None:
        merged = r
        continue
    merged["endpoints"] = (merged.get("endpoints") or []) + (r.get("endpoints") or [])
    merged["findings"] = (merged.get("findings") or []) + (r.get("findings") or [])
    merged["requests"] = merged.get("requests", 0) + r.get("requests", 0)
    merged["duration_seconds"] = merged.get("duration_seconds", 0) + r.get("duration_seconds", 0)
with open(out, "w", encoding="utf-8") as f:
    json.dump(merged or {}, f, indent=1)
