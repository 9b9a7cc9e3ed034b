#!/usr/bin/env python3
"""Regenerates fuzz/fuzz_targets/*.rs and the [[bin]] list of fuzz/Cargo.toml
from `lnkit::fuzz::TARGETS` (src/fuzz.rs), so every target there is a
cargo-fuzz binary. Run from the repository root after adding a target."""
import os, re

src = open('src/fuzz.rs').read()
targets = re.findall(r'\(\s*"([a-z0-9_]+)",\s*crate::([a-z0-9_:]+)\s*,?\s*\)', src)
assert targets, 'no targets found in src/fuzz.rs'
os.makedirs('fuzz/fuzz_targets', exist_ok=True)
for f in os.listdir('fuzz/fuzz_targets'):
    os.remove(os.path.join('fuzz/fuzz_targets', f))
for name, path in targets:
    with open(f'fuzz/fuzz_targets/{name}.rs', 'w') as f:
        f.write(f'''#![no_main]
//! Fuzz target `{name}`: see `lnkit::{path}`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::{path}(data));
''')
cargo = open('fuzz/Cargo.toml').read()
cargo = cargo[:cargo.index('[[bin]]')] if '[[bin]]' in cargo else cargo.rstrip() + '\n\n'
for name, _ in targets:
    cargo += f'''[[bin]]
name = "{name}"
path = "fuzz_targets/{name}.rs"
test = false
doc = false
bench = false

'''
open('fuzz/Cargo.toml', 'w').write(cargo.rstrip() + '\n')
print(f'{len(targets)} targets')
