#!/usr/bin/env python3
"""Runs lnkit's benches and LDK 0.2.7's reference programs
(../shared/ldk-reference) alternately in one sitting and prints a markdown
table of both figures and their ratio, for the README's performance section.

    python3 tools/bench_vs_ldk.py [codec] [noise] [routing] [payments] [--rounds N] [--ldk-router]

LDK's programs are built once into $LDK_TARGET (default target/ldk-reference).
Machines are noisy: compare the ratios, taken round by round.

payments: LDK's program by default sends along a route it is handed
(send_payment_with_route), as the reference column was taken; lnkit always
asks its router. --ldk-router makes LDK ask its DefaultRouter too.
"""
import os, re, subprocess, sys, statistics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# ../shared beside the repo; SHARED_DIR overrides it (e.g. from a git worktree).
SHARED = os.environ.get('SHARED_DIR', os.path.join(ROOT, '..', 'shared'))
LDK_DIR = os.path.join(SHARED, 'ldk-reference')
LDK_TARGET = os.environ.get('LDK_TARGET', os.path.join(ROOT, 'target', 'ldk-reference'))

def run(cmd, **kw):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout
    vals = {}
    for line in out.splitlines():
        m = re.match(r'^(\S+)\s+(-?[0-9.eE+]+)\s*(.*)$', line.strip())
        if m:
            try:
                vals[m.group(1)] = (float(m.group(2)), m.group(3))
            except ValueError:  # a label such as `ldk_version 0.2.7`
                pass
    return vals

def lnkit_bench(name):
    return run(['cargo', 'bench', '-q', '--bench', name], cwd=ROOT)

def ldk(prog, *args):
    return run([os.path.join(LDK_TARGET, 'release', prog), *args], cwd=LDK_DIR)

# contract line -> (LDK program, LDK line, factor to our unit, higher is better)
CODEC = [(f'codec_{n}_per_s', f'codec_{l}_roundtrip_rate', 1, True) for n, l in [
    ('channel_update', 'channel_update'), ('update_add_htlc', 'update_add_htlc'),
    ('commitment_signed', 'commitment_signed_10htlc'), ('node_announcement', 'node_announcement'),
    ('channel_announcement', 'channel_announcement'), ('revoke_and_ack', 'revoke_and_ack'),
    ('update_fulfill_htlc', 'update_fulfill_htlc'), ('mix', 'mix')]]
NOISE = [('noise_handshakes_per_s', 'noise_handshake_rate', 1, True),
         ('noise_msgs_per_s', 'noise_msg_rate', 1, True),
         ('noise_payload_mb_per_s', 'noise_payload_throughput', 1, True)]
ROUTING = []
for mode in ('mpp', 'single'):
    ROUTING += [(f'route_{mode}_found', f'route_{mode}_success', 1, True),
                (f'route_{mode}_median_ms', f'route_{mode}_time_median', 1e-3, False),
                (f'route_{mode}_p99_ms', f'route_{mode}_time_p99', 1e-3, False),
                (f'route_{mode}_avg_fee_msat', f'route_{mode}_avg_fee', 1, False)]
ROUTING += [('graph_rss_bytes_per_channel', 'ldk_graph_rss_delta', 1024 / 45000, False),
            ('graph_reload_ms', 'ldk_graph_deserialize_time', 1000, False)]
PAYMENTS = [('pay_serial_per_s', 'pay_serial_throughput', 1, True),
            ('pay_serial_p50_ms', 'pay_serial_latency_p50', 1e-3, False),
            ('pay_serial_p99_ms', 'pay_serial_latency_p99', 1e-3, False)]
PAYMENTS += [(f'pay_w{w}_per_s', f'pay_pipelined_w{w}_throughput', 1, True) for w in (10, 50, 200)]
PAYMENTS += [('pay_wire_bytes_per_payment', 'pay_serial_wire_bytes_per_payment', 1, False),
             ('pay_monitor_writes_per_payment', 'pay_serial_monitor_writes_per_payment_A', 1, False)]

def ldk_pay():
    extra = ['--router'] if '--ldk-router' in sys.argv else []
    return ldk('ldk_pay_bench', '--payments', '2000', '--windows', '10,50,200', '--persist', 'updates', *extra)

SUITES = {
    'codec': (lambda: lnkit_bench('codec'),
              lambda: ldk('ldk_codec_bench', '--iters', '200000', '--mix-iters', '1000000', '--no-calib'), CODEC),
    'noise': (lambda: lnkit_bench('noise'),
              lambda: ldk('ldk_noise_bench', '--handshakes', '2000', '--messages', '100000', '--size', '1024', '--batch', '100'), NOISE),
    'routing': (lambda: lnkit_bench('routing'),
                lambda: ldk('ldk_route_bench', '--graph', '../route-bench/graph-12k.jsonl',
                            '--queries-file', '../route-bench/route-queries.jsonl'), ROUTING),
    'payments': (lambda: lnkit_bench('payments'), ldk_pay, PAYMENTS),
}

def main():
    args = [a for i, a in enumerate(sys.argv[1:], 1)
            if not a.startswith('--') and sys.argv[i - 1] != '--rounds']
    rounds = 2
    if '--rounds' in sys.argv:
        rounds = int(sys.argv[sys.argv.index('--rounds') + 1])
    suites = args or list(SUITES)
    subprocess.run(['cargo', 'build', '-q', '--release', '--locked'], cwd=LDK_DIR, check=True,
                   env={**os.environ, 'CARGO_TARGET_DIR': LDK_TARGET})
    subprocess.run(['cargo', 'bench', '-q', '--no-run'] + [a for s in suites for a in ('--bench', s)],
                   cwd=ROOT, check=True)
    print('| line | lnkit | LDK 0.2.7 | lnkit / LDK |')
    print('| --- | --- | --- | --- |')
    for s in suites:
        ours_fn, theirs_fn, lines = SUITES[s]
        ours, theirs = [], []
        for _ in range(rounds):
            theirs.append(theirs_fn())
            ours.append(ours_fn())
        for ours_line, ldk_line, factor, higher in lines:
            o = [r[ours_line][0] for r in ours if ours_line in r]
            t = [r[ldk_line][0] * factor for r in theirs if ldk_line in r]
            if not o or not t:
                continue
            ratios = [a / b for a, b in zip(o, t) if b]
            fmt = lambda v: f'{v:,.0f}' if abs(v) >= 100 else f'{v:,.2f}'
            rng = lambda v: fmt(min(v)) if len(v) == 1 else f'{fmt(min(v))}–{fmt(max(v))}'
            ratio = f'{min(ratios):.2f}–{max(ratios):.2f}×' if ratios else '–'
            print(f'| `{ours_line}` | {rng(o)} | {rng(t)} | {ratio}{"" if higher else " (lower is better)"} |')

main()
