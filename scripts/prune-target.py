#!/usr/bin/env python3
"""Frees disk in target/debug/deps: of every test or bench executable built more than once
(one per source version), keeps only the newest. Each one links RocksDB and librdkafka
(100-600 MB); a day's work leaves tens of GB of stale ones. Usage: python3 scripts/prune-target.py"""
import collections
import os
import re

deps = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "debug", "deps")
builds = collections.defaultdict(list)
for name in os.listdir(deps):
    path = os.path.join(deps, name)
    match = re.fullmatch(r"(.+)-[0-9a-f]{16}", name)
    if match and os.path.isfile(path) and os.access(path, os.X_OK):
        builds[match.group(1)].append((os.path.getmtime(path), name))
freed = 0
for versions in builds.values():
    for _, name in sorted(versions)[:-1]:
        for stale in (name, name + ".d"):
            path = os.path.join(deps, stale)
            if os.path.exists(path):
                freed += os.path.getsize(path)
                os.remove(path)
print(f"freed {freed / 1e9:.1f} GB")
