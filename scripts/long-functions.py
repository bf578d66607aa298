#!/usr/bin/env python3
"""Lists Rust functions longer than a limit (default 80 lines), outside tests.

Usage: scripts/long-functions.py [--max N] [PATH ...]   (default PATH: crates)
Exit status 1 when any function is longer. A function runs from its `fn` line to the line
holding the brace that closes its body at the same indentation; `#[cfg(test)]` modules,
`tests.rs` files and `tests/` folders are skipped.
"""
import os
import re
import sys

FN = re.compile(r'^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+"[^"]*"\s+)?fn\s+(\w+)')


def test_file(path):
    parts = path.split(os.sep)
    return 'tests' in parts or parts[-1] in ('tests.rs', 'test.rs') or 'benches' in parts


def functions(path):
    lines = open(path, encoding='utf-8', errors='replace').read().split('\n')
    skip_until = None
    for i, line in enumerate(lines):
        if skip_until is not None:
            if i <= skip_until:
                continue
            skip_until = None
        if line.strip() == '#[cfg(test)]':
            indent = len(line) - len(line.lstrip())
            for j in range(i + 1, len(lines)):
                if lines[j].rstrip() == ' ' * indent + '}':
                    skip_until = j
                    break
            continue
        m = FN.match(line)
        if not m:
            continue
        indent = m.group(1)
        for j in range(i, len(lines)):
            if j > i and lines[j].startswith(indent + '}') and lines[j].strip().startswith('}'):
                yield m.group(8), i + 1, j - i + 1
                break
            if lines[j].rstrip().endswith(';') and '{' not in ''.join(lines[i:j + 1]):
                break  # a declaration without a body


def main(argv):
    limit = 80
    if argv[:1] == ['--max']:
        limit, argv = int(argv[1]), argv[2:]
    roots = argv or ['crates']
    long = []
    for root in roots:
        for dirpath, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ('target', 'tests', 'benches')]
            for f in files:
                p = os.path.join(dirpath, f)
                if f.endswith('.rs') and not test_file(p):
                    long += [(n, p, line, name) for name, line, n in functions(p) if n > limit]
    for n, p, line, name in sorted(long, reverse=True):
        print(f'{n:5} {p}:{line} {name}')
    return 1 if long else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
