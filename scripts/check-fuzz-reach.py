#!/usr/bin/env python3
"""After the fuzz run: every operation of the OpenAPI document was called, and none was only ever answered
401, 404 or 429 (the answers of a request that never reached the handler's work).

    scripts/check-fuzz-reach.py OPENAPI_URL RECORD
"""
import json
import sys
import urllib.request
from collections import defaultdict

GATES = {401, 404, 429}


def main():
    openapi_url, record = sys.argv[1:]
    with urllib.request.urlopen(openapi_url, timeout=10) as response:
        document = json.load(response)
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    seen = defaultdict(set)
    with open(record) as f:
        for line in f:
            method, path, status = json.loads(line)
            seen[(method, path)].add(status)
    problems = []
    for operation in sorted(operations):
        statuses = seen.get(operation)
        if not statuses:
            problems.append(f"{operation[0]} {operation[1]}: never called")
        elif statuses <= GATES:
            problems.append(f"{operation[0]} {operation[1]}: only ever answered {sorted(statuses)}")
    for operation in sorted(operations):
        print(f"    {operation[0]:6} {operation[1]}: {sorted(seen.get(operation, []))}")
    if problems:
        print("FAIL: operations the fuzz never got past the gates of:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"    every one of the {len(operations)} operations reached its handler")
    return 0


if __name__ == "__main__":
    sys.exit(main())
