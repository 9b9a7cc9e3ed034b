#!/usr/bin/env python3
"""Converts ../shared/bolt-vectors/bolt08-noise.json (BOLT 8 Appendix A) into
tests/vectors/bolt08-noise.txt: blank-line separated records of `key value`
lines, so the tests need no JSON parser. Run from the repository root."""
import json, sys

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/bolt-vectors/bolt08-noise.json"
d = json.load(open(src))
out = ["# BOLT 8 Appendix A transport test vectors, converted by tools/bolt08_vectors.py",
       "# from " + d["source"], ""]
for role, key in (("initiator", "initiator_tests"), ("responder", "responder_tests")):
    for t in d[key]:
        out.append("role " + role)
        out.append("name " + t["name"])
        for k in ("rs_pub", "ls_priv", "ls_pub", "e_priv", "e_pub", "act1_output", "act1_input",
                  "act2_input", "act2_output", "act3_output", "act3_input"):
            if k in t:
                out.append(f"{k} {t[k]}")
        if t["result"] == "success":
            out.append("sk " + t["expected_keys"]["sk"])
            out.append("rk " + t["expected_keys"]["rk"])
            out.append("result success")
        else:
            out.append("result " + t["expected_error"])
        out.append("")
m = d["message_encryption"]
out.append("role messages")
out.append("name " + m["name"])
for k in ("ck", "sk", "rk", "plaintext_hex"):
    out.append(f"{k} {m[k]}")
for o in m["expected_outputs"]:
    out.append(f"output_{o['message_index']} {o['ciphertext']}")
for i, r in enumerate(m["key_rotations"]):
    out.append(f"rotation_{r['applies_before_output']} {r['new_ck']} {r['new_k']}")
out.append("")
open("tests/vectors/bolt08-noise.txt", "w").write("\n".join(out))
