#!/usr/bin/env python3
"""Checks the folder-level include graph against the layers gputrace is built in.

Each folder may include only itself and the folders its entry below names. The layers follow
the data flow (docs/architecture.md): wire and model at the bottom, then the sources, the
analysis, the pipeline, the exporters and views (which know only the read model), and the
command line on top. Run by the build (a bad include fails it) and by ctest (label unit).

usage: check_layers.py SOURCE_DIR [STAMP_FILE]
"""
import os
import re
import sys

FOUNDATION = ['userspace/util', 'bpf']
WIRE = FOUNDATION + ['userspace/decode']
MODEL = ['userspace/util', 'userspace/model']
SOURCES = WIRE + MODEL + ['userspace/host', 'userspace/loader', 'userspace/ring', 'userspace/capture',
                          'userspace/gc', 'userspace/gpu', 'userspace/attach']
ANALYSIS = SOURCES + ['userspace/tables', 'userspace/analyze', 'userspace/correlate', 'userspace/engine',
                      'userspace/timeline', 'userspace/snapshot']
EXPORTERS = MODEL + ['exporters/telemetry']

ALLOWED = {
    'userspace/util': [],
    'bpf': [],
    'userspace/decode': FOUNDATION,
    # The read model: plain data every view and exporter renders. (It includes bpf/common.h
    # and bpf/gpu.h for the X-macro lists its loss table is built from.)
    'userspace/model': ['userspace/util', 'bpf'],
    # Sources: where records come from.
    'userspace/host': WIRE,
    'userspace/loader': FOUNDATION,
    'userspace/ring': WIRE,
    'userspace/capture': WIRE,
    'userspace/gc': WIRE + ['userspace/host', 'userspace/loader'],
    'userspace/gpu': WIRE + MODEL + ['userspace/loader'],
    # Bringing the injection library into a running process (ptrace), and talking to it.
    'userspace/attach': FOUNDATION,
    'userspace/session': SOURCES,
    # Analysis: records in, findings and the read model out.
    'userspace/tables': WIRE + ['userspace/host'],
    'userspace/analyze': WIRE + MODEL + ['userspace/tables'],
    'userspace/correlate': WIRE + MODEL + ['userspace/tables', 'userspace/analyze', 'userspace/host'],
    'userspace/engine': WIRE + MODEL + ['userspace/tables', 'userspace/analyze', 'userspace/correlate'],
    'userspace/timeline': WIRE + MODEL + ['userspace/tables', 'userspace/engine'],
    'userspace/snapshot': ANALYSIS,
    'userspace/pipeline': ANALYSIS,
    # Exporters and views render the read model and know nothing else.
    'exporters/telemetry': MODEL,
    'exporters/prometheus': EXPORTERS,
    'exporters/otlp': EXPORTERS,
    'exporters/report': EXPORTERS,
    # the network halves' interfaces, implemented without the network (gputrace-static)
    'exporters/without_network': EXPORTERS + ['exporters/otlp', 'exporters/prometheus'],
    'views/top': MODEL,
    # The commands assemble everything.
    'userspace/cli': None,
    'userspace': None,  # main.cc
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(path):
    """The layer folder of a root-relative path: bpf, userspace/<x>, exporters/<x>, views/<x>."""
    parts = path.split('/')
    if parts[0] == 'bpf':
        return 'bpf'
    if parts[0] in ('userspace', 'exporters', 'views') and len(parts) > 2:
        return '/'.join(parts[:2])
    return parts[0] if len(parts) > 1 else None


def violations(source_dir):
    out = []
    for top in ('userspace', 'exporters', 'views'):
        for dirpath, _, names in os.walk(os.path.join(source_dir, top)):
            for name in sorted(names):
                if not name.endswith(('.cc', '.h')):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), source_dir)
                src = folder_of(path)
                if src not in ALLOWED:
                    out.append(f'{path}: folder {src} has no entry in cmake/check_layers.py: give it its layer')
                    continue
                allowed = ALLOWED[src]
                if allowed is None:
                    continue
                with open(os.path.join(source_dir, path), encoding='utf-8', errors='replace') as f:
                    text = f.read()
                for inc in INCLUDE.findall(text):
                    dst = folder_of(inc)
                    if dst is None or dst == src or not os.path.exists(os.path.join(source_dir, inc)):
                        continue  # same folder, a generated header (skeletons), or a system one
                    if dst not in allowed:
                        out.append(f'{path}: includes "{inc}": {src} may not depend on {dst} '
                                   f'(allowed: {", ".join(allowed) or "nothing"})')
    return out


def main():
    source_dir = sys.argv[1]
    bad = violations(source_dir)
    for line in bad:
        print(f'layering: {line}', file=sys.stderr)
    if bad:
        print(f'layering: {len(bad)} include(s) cross the layers; docs/architecture.md says why they exist',
              file=sys.stderr)
        return 1
    if len(sys.argv) > 2:
        with open(sys.argv[2], 'w') as f:
            f.write('ok\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
