/** The verdicts of `ctnet doctor` from facts, one check at a time. */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { parseSave } from '../firewall/legacy.js';
import {
  brNetfilterCheck,
  bridgePortsCheck,
  foreignDropCheck,
  forwardingCheck,
  legacyCheck,
  legacyContents,
  rpFilterCheck,
  staleEndpointsCheck,
} from './checks.js';

describe('doctor checks', () => {
  test('forwarding: a fail only while a network needs it and it is off', () => {
    assert.equal(forwardingCheck('ip-forward', 'net.ipv4.ip_forward', '0', []).status, 'ok');
    assert.equal(forwardingCheck('ip-forward', 'net.ipv4.ip_forward', '1', ['a']).status, 'ok');
    const off = forwardingCheck('ip-forward', 'net.ipv4.ip_forward', '0', ['a', 'b']);
    assert.equal(off.status, 'fail');
    assert.match(off.message, /^net\.ipv4\.ip_forward is 0, but network "a", "b" forward this family/);
    assert.match(off.fix ?? '', /^sysctl -w net\.ipv4\.ip_forward=1/);
    assert.equal(forwardingCheck('ipv6-forward', 'net.ipv6.conf.all.forwarding', undefined, ['c']).status, 'fail');
  });

  test('br_netfilter: a warning when it sends bridged traffic through the forward hook of bridge networks', () => {
    assert.equal(brNetfilterCheck({ ip4: undefined, ip6: undefined }, 1).status, 'ok');
    assert.equal(brNetfilterCheck({ ip4: '0', ip6: '0' }, 1).status, 'ok');
    assert.equal(brNetfilterCheck({ ip4: '1', ip6: '0' }, 0).status, 'ok');
    const on = brNetfilterCheck({ ip4: '1', ip6: '1' }, 2);
    assert.equal(on.status, 'warn');
    assert.match(on.message, /bridge-nf-call-iptables=1, bridge-nf-call-ip6tables=1/);
  });

  test('rp_filter: strict where the larger of "all" and the bridge\'s own is 1', () => {
    assert.equal(rpFilterCheck([]).status, 'ok');
    assert.equal(rpFilterCheck([{ bridge: 'ct-a', all: '0', own: '2' }]).status, 'ok');
    assert.equal(rpFilterCheck([{ bridge: 'ct-a', all: '2', own: '1' }]).status, 'ok', '2 wins over 1: loose');
    const strict = rpFilterCheck([{ bridge: 'ct-a', all: '1', own: '0' }, { bridge: 'ct-b', all: '1', own: '2' }]);
    assert.equal(strict.status, 'warn');
    assert.match(strict.message, /on ct-a:/);
    assert.match(strict.fix ?? '', /net\.ipv4\.conf\.ct-a\.rp_filter=2/);
  });

  test('foreign drop policies: ok when none or all covered, a fail naming the networks otherwise', () => {
    assert.deepEqual(foreignDropCheck({ drops: [], unreadable: [] }, 0), { name: 'forward-policy', status: 'ok', message: 'no other firewall drops forwarded packets by default' });
    const drop = { firewall: 'nftables', chain: 'ip filter FORWARD', uncovered: [] } as const;
    const covered = foreignDropCheck({ drops: [{ ...drop, uncovered: [] }], unreadable: [] }, 2);
    assert.equal(covered.status, 'ok');
    assert.equal(covered.message, "ip filter FORWARD (nftables) drops forwarded packets by default; ctnet's accept rules let its networks through");
    assert.equal(foreignDropCheck({ drops: [{ ...drop, uncovered: [] }], unreadable: [] }, 0).message, 'ip filter FORWARD (nftables) drops forwarded packets by default; ctnet adds accept rules there for each network it creates');
    const open = foreignDropCheck({ drops: [{ firewall: 'iptables-legacy', chain: 'filter FORWARD', uncovered: ['a'] }, { ...drop, uncovered: ['a', 'b'] }], unreadable: [] }, 2);
    assert.equal(open.status, 'fail');
    assert.equal(
      open.message,
      'filter FORWARD (iptables-legacy) drops forwarded packets by default and lacks ctnet\'s accept rules for network "a"; ip filter FORWARD (nftables) drops forwarded packets by default and lacks ctnet\'s accept rules for network "a", "b"',
    );
    assert.match(open.fix ?? '', /^the next ctnet connect to each network puts its rules in/);
  });

  test('foreign drop policies: a legacy table ctnet cannot read makes an ok a warning', () => {
    const unreadable = ['the legacy iptables filter table (IPv4) is in use but cannot be read: iptables-legacy-save is not installed (Debian package iptables)'];
    const none = foreignDropCheck({ drops: [], unreadable }, 1);
    assert.equal(none.status, 'warn');
    assert.equal(none.message, `no other firewall drops forwarded packets by default; ${unreadable[0] ?? ''}`);
    assert.match(none.fix ?? '', /Debian package iptables/);
    assert.equal(foreignDropCheck({ drops: [{ firewall: 'nftables', chain: 'ip filter FORWARD', uncovered: ['a'] }], unreadable }, 1).status, 'fail');
  });

  test("legacy iptables: what nft does not show, without ctnet's own rules", () => {
    const save = parseSave('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n-A FORWARD -s 10.68.0.0/24 -m comment --comment "ctnet net ab" -j ACCEPT\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n');
    assert.deepEqual(legacyContents(save), { rules: 1, tables: ['filter', 'nat'], policies: ['filter FORWARD DROP'] });
    assert.equal(legacyCheck([{ family: 4, tables: [] }, { family: 6, tables: [] }]).status, 'ok');
    assert.equal(legacyCheck([{ family: 4, tables: ['filter'], saved: parseSave('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n') }]).status, 'ok');
    const found = legacyCheck([{ family: 4, tables: ['filter', 'nat'], saved: save }]);
    assert.equal(found.status, 'warn');
    assert.equal(found.message, 'iptables-legacy holds 1 rule and policies filter FORWARD DROP in filter, nat: nft does not show them, and ctnet sees only the FORWARD policy there');
    const unreadable = legacyCheck([{ family: 6, tables: ['filter'], error: 'ip6tables-legacy-save is not installed' }]);
    assert.equal(unreadable.status, 'warn');
    assert.match(unreadable.message, /ip6tables-legacy-save cannot read them: ip6tables-legacy-save is not installed/);
  });

  test('bridge ports: ok below 90 % of 1023, a warning near it or for a missing bridge, a fail when full', () => {
    assert.equal(bridgePortsCheck([]).status, 'ok');
    assert.deepEqual(bridgePortsCheck([{ network: 'a', bridge: 'ct-a', ports: 3 }]), { name: 'bridge-ports', status: 'ok', message: 'ct-a: 3 of 1023 ports' });
    assert.equal(bridgePortsCheck([{ network: 'a', bridge: 'ct-a', ports: 1000 }]).status, 'warn');
    assert.equal(bridgePortsCheck([{ network: 'a', bridge: 'ct-a', ports: undefined }]).message, 'ct-a is missing');
    const full = bridgePortsCheck([{ network: 'a', bridge: 'ct-a', ports: 1023 }, { network: 'b', bridge: 'ct-b', ports: undefined }]);
    assert.equal(full.status, 'fail');
    assert.match(full.message, /network "a" cannot take another container \(the kernel answers EXFULL\)/);
  });

  test('stale endpoints: counted, with a few named in the fix', () => {
    assert.equal(staleEndpointsCheck([], 0).message, 'no endpoint');
    assert.equal(staleEndpointsCheck([], 4).status, 'ok');
    const one = staleEndpointsCheck([{ network: 'n', container: 'c1' }], 2);
    assert.equal(one.status, 'warn');
    assert.equal(one.message, '1 endpoint record of 2 names a namespace that is gone: its addresses and published ports stay taken');
    const many = staleEndpointsCheck(['a', 'b', 'c', 'd'].map((c) => ({ network: 'n', container: c })), 4);
    assert.match(many.fix ?? '', /\(n a, n b, n c, \.\.\.\)$/);
  });
});
