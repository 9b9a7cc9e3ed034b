#!/usr/bin/env python3
"""BOLT 8 interop between lnkit's `examples/peer.rs` and Python's independent
implementation in `pyln-proto` (pip install pyln-proto), in both directions.

Checks: handshake, init exchange, ping/pong, a burst of 1,200 pings (both
keys rotate), and that a corrupted MAC makes the example drop the
connection at once. Runnable by hand:

    cargo build --release --example peer
    python3 interop/pyln_interop.py [--peer target/release/examples/peer]

Exit status 0 when every check passed.
"""
import argparse, os, socket, struct, subprocess, sys, threading, time
from pyln.proto.wire import LightningServerSocket, PrivateKey, PublicKey, connect

OUR_SECRET = "11" * 32
PY_SECRET = bytes([0x42] * 32)

def features_bytes(bits):
    n = max(bits) // 8 + 1
    b = bytearray(n)
    for bit in bits:
        b[n - 1 - bit // 8] |= 1 << (bit % 8)
    return bytes(b)


def init_msg():
    # Optional data_loss_protect, var_onion_optin, static_remotekey,
    # payment_secret, channel_type (what real peers insist on).
    f = features_bytes([1, 9, 13, 15, 45])
    regtest = bytes.fromhex("06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f")
    networks = b"\x01" + bytes([len(regtest)]) + regtest
    return struct.pack("!HH", 16, 0) + struct.pack("!H", len(f)) + f + networks


def ping(n):
    return struct.pack("!HHH", 18, n, 0)


class Example:
    def __init__(self, binary, args):
        self.p = subprocess.Popen([binary] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, bufsize=1)
        self.lines = []
        self.cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            with self.cv:
                self.lines.append(line.strip())
                self.cv.notify_all()

    def wait_line(self, pred, timeout=20):
        end = time.time() + timeout
        with self.cv:
            while True:
                for l in self.lines:
                    if pred(l):
                        return l
                left = end - time.time()
                if left <= 0:
                    raise AssertionError(f"timed out; output so far: {self.lines}")
                self.cv.wait(left)

    def count(self, text):
        with self.cv:
            return sum(1 for l in self.lines if l == text)

    def stop(self):
        self.p.kill()
        self.p.wait()


def exchange(conn, ex, py_id, label):
    """After the handshake: init both ways, ping/pong, burst, bad MAC."""
    their_init = conn.read_message()
    assert struct.unpack("!H", their_init[:2])[0] == 16, "first message is init"
    conn.send_message(init_msg())
    ex.wait_line(lambda l: l == f"connected {py_id}")
    conn.send_message(ping(10))
    m = conn.read_message()
    assert m == struct.pack("!HH", 19, 10) + bytes(10), f"pong of 10 bytes, got {m.hex()}"
    # 1,200 pings in a row: both sides cross key rotation (every 500 messages).
    for _ in range(1200):
        conn.send_message(ping(4))
    pongs = 0
    while pongs < 1200:
        m = conn.read_message()
        t = struct.unpack("!H", m[:2])[0]
        if t == 19:
            assert m == struct.pack("!HH", 19, 4) + bytes(4)
            pongs += 1
    ex.wait_line(lambda l: ex.count("received ping") >= 1201, timeout=30)
    print(f"ok {label}: handshake, init, ping/pong, 1200 pings across key rotation")
    # A corrupted MAC: the example must drop the connection at once.
    length = struct.pack("!H", 6)
    from pyln.proto.wire import encryptWithAD
    lc = encryptWithAD(conn.sk, conn.nonce(conn.sn), b"", length)
    mc = bytearray(encryptWithAD(conn.sk, conn.nonce(conn.sn + 1), b"", ping(0)))
    mc[-1] ^= 1
    conn.connection.sendall(lc + bytes(mc))
    conn.connection.settimeout(10)
    try:
        data = conn.connection.recv(100)
    except ConnectionResetError:
        data = b""
    assert data == b"", "connection closed after a bad MAC"
    ex.wait_line(lambda l: l == f"disconnected {py_id}")
    print(f"ok {label}: bad MAC drops the connection")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "examples", "peer"))
    a = ap.parse_args()
    priv = PrivateKey(PY_SECRET)
    py_id = priv.public_key().serializeCompressed().hex()

    # 1. pyln-proto dials the example.
    port = free_port()
    ex = Example(a.peer, ["listen", f"127.0.0.1:{port}", "--node-secret", OUR_SECRET])
    try:
        node_id = ex.wait_line(lambda l: l.startswith("node_id ")).split()[1]
        conn = connect(priv, PublicKey(bytes.fromhex(node_id)), "127.0.0.1", port)
        exchange(conn, ex, py_id, "pyln -> lnkit")
    finally:
        ex.stop()

    # 2. the example dials pyln-proto.
    srv = LightningServerSocket(priv)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    ex = Example(a.peer, ["connect", f"{py_id}@127.0.0.1:{port}", "--node-secret", OUR_SECRET])
    try:
        srv.settimeout(20)
        conn, _ = srv.accept()
        exchange(conn, ex, py_id, "lnkit -> pyln")
    finally:
        ex.stop()
    print("2 passed, 0 failed")


if __name__ == "__main__":
    main()
