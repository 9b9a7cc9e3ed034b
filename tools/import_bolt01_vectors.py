#!/usr/bin/env python3
"""Converts the BOLT 1/7 JSON test vectors and the codec samples into the
plain line formats under tests/vectors/ that lnkit's tests read.

Run from the repository root: python3 tools/import_bolt01_vectors.py [SHARED_DIR]
(SHARED_DIR defaults to ../shared). Tests never read SHARED_DIR themselves.
"""
import json, os, sys

shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join('..', 'shared')
vec = os.path.join(shared, 'bolt-vectors')
out = os.path.join('tests', 'vectors')

def load(name):
    with open(os.path.join(vec, name)) as f:
        return json.load(f)

lines = ['# BOLT 1 Appendix A. decode <hex|-> ok <value> | decode <hex|-> err <kind> | encode <value> <hex>']
d = load('bolt01-bigsize.json')
for c in d['decoding']:
    h = c['bytes'] or '-'
    if c['valid']:
        lines.append(f"decode {h} ok {c['value']}")
    else:
        lines.append(f"decode {h} err {c['error_kind']}")
for c in d['encoding']:
    lines.append(f"encode {c['value']} {c['bytes']}")
open(os.path.join(out, 'bolt01-bigsize.txt'), 'w').write('\n'.join(lines) + '\n')

lines = ['# BOLT 1 Appendix B. fail <namespaces> <hex|-> | ok <namespaces> <hex|-> [record=value ...]',
         '# n1: 1 tlv1 tu64, 2 tlv2 scid(u64), 3 tlv3 point,u64,u64, 254 tlv4 u16; n2: 0 tlv1 tu64, 11 tlv2 tu32']
d = load('bolt01-tlv.json')
for c in d['decoding_failures']:
    lines.append(f"fail {','.join(c['namespaces'])} {c['stream'] or '-'}")
for c in d['decoding_successes']:
    recs = []
    for name, fields in c['expected_records'].items():
        if name == 'tlv2' and 'scid_components' in fields:
            sc = fields['scid_components']
            v = (sc['block_height'] << 40) | (sc['tx_index'] << 16) | sc['output_index']
            recs.append(f"{name}={v}")
        elif name == 'tlv3':
            recs.append(f"{name}={fields['node_id']},{fields['amount_msat_1']},{fields['amount_msat_2']}")
        else:
            recs.append(f"{name}={list(fields.values())[0]}")
    lines.append(f"ok {','.join(c['namespaces'])} {c['stream'] or '-'} {' '.join(recs)}".rstrip())
open(os.path.join(out, 'bolt01-tlv.txt'), 'w').write('\n'.join(lines) + '\n')

lines = ['# BOLT 1 Appendix C (init extensions). valid <hex> | invalid <hex>']
d = load('bolt01-messages.json')
for c in d['valid']:
    lines.append(f"valid {c['message']}")
for c in d['invalid']:
    lines.append(f"invalid {c['message']}")
open(os.path.join(out, 'bolt01-init.txt'), 'w').write('\n'.join(lines) + '\n')

lines = ['# BOLT 1 Appendix D. <value> <hex> (width = hex length)']
d = load('bolt01-signed-integers.json')
for c in d['vectors']:
    lines.append(f"{c['value']} {c['bytes']}")
open(os.path.join(out, 'bolt01-signed-integers.txt'), 'w').write('\n'.join(lines) + '\n')

lines = ['# bolts/bolt07/extended-queries.json: <type> <zlib|plain> <hex> [scids=<u64,...>]',
         '# zlib: some part uses COMPRESSED_ZLIB, which lnkit rejects with UnsupportedCompression']
d = load(os.path.join('bolt07', 'extended-queries.json'))
def scid(s):
    b, t, o = (int(x) for x in s.split('x'))
    return (b << 40) | (t << 16) | o
for c in d:
    m = c['msg']
    zlib = 'COMPRESSED_ZLIB' in json.dumps(m)
    extra = ''
    if 'shortChannelIds' in m:
        extra = ' scids=' + ','.join(str(scid(x)) for x in m['shortChannelIds']['array'])
    lines.append(f"{m['type']} {'zlib' if zlib else 'plain'} {c['hex']}{extra}")
open(os.path.join(out, 'bolt07-extended-queries.txt'), 'w').write('\n'.join(lines) + '\n')

samples = open(os.path.join(shared, 'bench-data', 'codec-samples.txt')).read()
open(os.path.join(out, 'codec-samples.txt'), 'w').write(
    '# Real messages from other implementations (a copy of the project\'s shared bench-data/codec-samples.txt): <name> <hex>\n' + samples)
print('ok')
