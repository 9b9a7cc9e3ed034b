#!/usr/bin/env python3
"""Converts the BOLT 4 / BOLT 11 vectors of ../shared/bolt-vectors into the
line formats under tests/vectors/ (one record per line: a key, then
space-separated fields). Run from the repository root."""
import json, os, sys

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join('..', 'shared', 'bolt-vectors')
OUT = os.path.join('tests', 'vectors')

def load(name):
    with open(os.path.join(SRC, name)) as f:
        return json.load(f)

def strip_bigsize(h):
    b = bytes.fromhex(h)
    if b[0] < 0xfd:
        return b[1:].hex()
    if b[0] == 0xfd:
        return b[3:].hex()
    raise SystemExit('payload too long')

def onion():
    d = load('bolt04/onion-test.json')
    g = d['generate']
    lines = ['# bolt04/onion-test.json: ' + d['comment'],
             'session_key ' + g['session_key'],
             'associated_data ' + g['associated_data']]
    for h, k in zip(g['hops'], d['decode']):
        lines.append('hop %s %s %s' % (h['pubkey'], k, strip_bigsize(h['payload'])))
    lines.append('onion ' + d['onion'])
    return lines

def onion_error():
    d = load('bolt04/onion-error-test.json')
    g = d['generate']
    lines = ['# bolt04/onion-error-test.json: ' + d['comment'],
             'session_key ' + g['session_key'],
             'failure_message ' + g['failure_message']]
    for h in g['hops']:
        lines.append('hop %s %s %s' % (h['pubkey'], h['hop_shared_secret'], h['ammag_key']))
    last = g['hops'][-1]
    lines.append('um_key ' + last['um_key'])
    lines.append('payload ' + last['payload'])
    lines.append('errorpacket ' + d['errorpacket'])
    return lines

def returning_errors():
    d = load('bolt04-onion.json')
    r = d['returning_errors']
    lines = ['# bolt04-onion.json returning_errors / returning_success (04-onion-routing.md "Test Vector")',
             'session_key ' + r['session_key'],
             'failure_source_node %d' % r['failure_source_node']]
    for h in r['hops']:
        lines.append('hop %s %d' % (h['pubkey'], h['htlc_hold_time']))
    c = r['creation']
    for k in ('encoded_failure_message', 'shared_secret', 'payload', 'um_key', 'raw_error_packet'):
        lines.append('%s %s' % (k, c[k]))
    for f in r['forwarding']:
        lines.append('forward %d %s %s %s %s %s' % (f['node'], f['shared_secret'], f['ammag_key'], f['stream'],
                                                    f['error_packet'], f['attribution_data']))
    for s in d['returning_success']['attribution_data']:
        lines.append('success %d %s' % (s['node'], s['attribution_data']))
    return lines

def onion_message():
    d = load('bolt04/blinded-onion-message-onion-test.json')
    g = d['generate']
    lines = ['# bolt04/blinded-onion-message-onion-test.json: ' + d['comment'],
             'session_key ' + g['session_key']]
    for h in d['route']['hops']:
        lines.append('hop %s %s' % (h['blinded_node_id'], h['encrypted_recipient_data']))
    for h in g['hops']:
        lines.append('encrypted_data_tlv %s' % h['encrypted_data_tlv'])
    lines.append('final_unknown_tag_1 ' + d['onionmessage']['unknown_tag_1'])
    lines.append('packet ' + d['onionmessage']['onion_message_packet'])
    for h in d['decrypt']['hops']:
        lines.append('decrypt %s %s' % (h['privkey'], h['onion_message']))
    return lines

def blinded_payment():
    d = load('bolt04/blinded-payment-onion-test.json')
    g = d['generate']
    lines = ['# bolt04/blinded-payment-onion-test.json: ' + d['comment'],
             'session_key ' + g['session_key'],
             'associated_data ' + g['associated_data'],
             'first_path_key ' + g['blinded_route']['first_path_key']]
    for h in g['full_route']['hops']:
        lines.append('hop %s %s' % (h['pubkey'], strip_bigsize(h['payload'])))
    lines.append('onion ' + g['onion'])
    for h in d['decrypt']['hops']:
        lines.append('decrypt %s %s %s' % (h['node_privkey'], h.get('next_path_key', '-'), h['onion']))
    return lines

def invoices():
    d = load('bolt11-invoices.json')
    lines = ['# bolt11-invoices.json (11-payment-encoding.md "Examples"); fields: key value',
             '# a record starts with "valid <invoice>" or "invalid <error_kind> <invoice>"',
             'signing_private_key ' + d['signing_private_key']]
    for v in d['valid_invoices']:
        lines.append('valid ' + v['invoice'])
        lines.append('network ' + v['network'])
        lines.append('amount_msat ' + ('none' if v['amount_msat'] is None else str(v['amount_msat'])))
        lines.append('timestamp %d' % v['timestamp'])
        lines.append('payment_hash ' + v['payment_hash'])
        lines.append('payment_secret ' + v['payment_secret'])
        if 'description' in v:
            lines.append('description_hex ' + v['description'].encode('utf-8').hex())
        if 'description_hash' in v:
            lines.append('description_hash ' + v['description_hash'])
        if 'expiry' in v:
            lines.append('expiry %d' % v['expiry'])
        if 'min_final_cltv_expiry_delta' in v:
            lines.append('min_final_cltv_expiry_delta %d' % v['min_final_cltv_expiry_delta'])
        if 'metadata' in v:
            lines.append('metadata ' + v['metadata'])
        lines.append('features_bits ' + ','.join(str(b) for b in v['features_bits']))
        for fb in v.get('fallback_addresses', []):
            lines.append('fallback %d %s %s' % (fb['version'], fb['program_hex'], fb['address']))
        for hint in v.get('routing_hints', []):
            lines.append('route_hint ' + ' '.join('%s/%s/%d/%d/%d' % (h['pubkey'], h['short_channel_id_hex'],
                                                                      h['fee_base_msat'], h['fee_proportional_millionths'],
                                                                      h['cltv_expiry_delta']) for h in hint))
        if 'payee_pubkey_field_n' in v:
            lines.append('payee_n ' + v['payee_pubkey_field_n'])
        lines.append('payee_pubkey ' + v['payee_pubkey'])
        lines.append('signature %s %d' % (v['signature'], v['recovery_flag']))
        lines.append('signing_hash ' + v['signing_hash'])
        lines.append('ignored_fields %d' % len(v.get('ignored_fields', [])))
    for v in d['invalid_invoices']:
        lines.append('invalid %s %s' % (v['error_kind'], v['invoice']))
    return lines

def main():
    os.makedirs(OUT, exist_ok=True)
    for name, f in (('bolt04-onion.txt', onion), ('bolt04-onion-error.txt', onion_error),
                    ('bolt04-returning-errors.txt', returning_errors), ('bolt04-onion-message.txt', onion_message),
                    ('bolt04-blinded-payment.txt', blinded_payment), ('bolt11-invoices.txt', invoices)):
        with open(os.path.join(OUT, name), 'w') as out:
            out.write('\n'.join(f()) + '\n')

if __name__ == '__main__':
    main()
