#!/usr/bin/env python3
"""compose.yaml is valid and runs what the container test ran.

    scripts/check-compose.py PODMAN_COMPOSE IMAGE VAR...

Renders compose.yaml with `podman-compose config` (its env files from the examples in deploy/, in a scratch
folder), then checks that both Parley services run IMAGE with every variable VAR the test's containers were
given, that PostgreSQL keeps its data in a named volume, and that nginx reads the shipped deploy/nginx.conf.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import yaml  # podman-compose's own dependency

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def env_file_names(path):
    names = set()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                names.add(line.split("=", 1)[0])
    return names


def main():
    podman_compose, image, *variables = sys.argv[1:]
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(os.path.join(ROOT, "compose.yaml"), scratch)
        shutil.copytree(os.path.join(ROOT, "deploy"), os.path.join(scratch, "deploy"))
        shutil.copy(os.path.join(ROOT, "deploy", "db.env.example"), os.path.join(scratch, "db.env"))
        shutil.copy(os.path.join(ROOT, "deploy", "parley.env.example"), os.path.join(scratch, "parley.env"))
        rendered = subprocess.run(
            [podman_compose, "-f", os.path.join(scratch, "compose.yaml"), "config"],
            check=True, capture_output=True, text=True,
        ).stdout
        parley_env = env_file_names(os.path.join(scratch, "parley.env"))
    config = yaml.safe_load(rendered)
    services = config["services"]
    problems = []
    parley = [name for name, s in services.items() if str(s.get("image", "")).endswith(image)]
    if sorted(parley) != ["parley-1", "parley-2"]:
        problems.append(f"the Parley services running {image}: {parley}, want parley-1 and parley-2")
    for name in parley:
        given = set((services[name].get("environment") or {}).keys()) | parley_env
        missing = [v for v in variables if v not in given]
        if missing:
            problems.append(f"{name} lacks {missing}, which the container test set")
    db_volumes = [str(v) for v in services.get("db", {}).get("volumes", [])]
    if not any("db-data" in v for v in db_volumes) or "db-data" not in (config.get("volumes") or {}):
        problems.append(f"PostgreSQL's data is not in the named volume db-data: {db_volumes}")
    nginx_volumes = [str(v) for v in services.get("nginx", {}).get("volumes", [])]
    if not any("deploy/nginx.conf" in v for v in nginx_volumes):
        problems.append(f"nginx does not read deploy/nginx.conf: {nginx_volumes}")
    if problems:
        print("compose.yaml: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"compose.yaml: valid; parley-1 and parley-2 run {image} with the tested variables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
