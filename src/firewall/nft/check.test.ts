import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { parseCidr } from '../../inet/cidr.js';
import { elementsAndTheirSets, missingFromTable } from './check.js';
import { buildNetworkSetup } from './network-rules.js';
import { buildPortsSetup } from './port-rules.js';
import { readTableState, type CtnetTableState } from './table-state.js';
import { DUAL_STACK, INTERNAL, LISTING_NAT_COMPLETE, NAT, TCP_ANY, UDP_ONE_IP, endpoint } from './test-fixtures.js';

type Item = Record<string, Record<string, unknown>>;

/** The complete listing after `edit`, as readTableState reads it. */
function listingWith(edit: (items: Item[]) => Item[]): CtnetTableState {
  const items = structuredClone(LISTING_NAT_COMPLETE.nftables) as Item[];
  return readTableState({ nftables: edit(items) });
}

const named = (kind: string, name: string) => (i: Item): boolean => i[kind]?.['name'] === name;
const ruleOf = (chain: string) => (i: Item): boolean => i['rule']?.['chain'] === chain;
/** The items with set or map `name`'s elements replaced. */
function withElems(items: Item[], name: string, elems: (elem: unknown[]) => unknown[]): Item[] {
  return items.map((i) => {
    const set = i['map'] ?? i['set'];
    if (set?.['name'] !== name) return i;
    return { [i['map'] === undefined ? 'set' : 'map']: { ...set, elem: elems((set['elem'] as unknown[] | undefined) ?? []) } };
  });
}

describe('missingFromTable() for a network', () => {
  const expected = buildNetworkSetup(NAT);

  test('nothing is missing right after the setup', () => {
    assert.deepEqual(missingFromTable(expected, listingWith((items) => items)), []);
  });

  test('no table: one line', () => {
    assert.deepEqual(missingFromTable(expected, undefined), ['table inet ctnet is missing']);
  });

  test('a deleted chain (and the element that jumped to it): both named, its rules not counted again', () => {
    const state = listingWith((items) =>
      withElems(items.filter((i) => !named('chain', 'n-a1b2c3-in')(i) && !ruleOf('n-a1b2c3-in')(i)), 'fwd_in4', () => []),
    );
    assert.deepEqual(missingFromTable(expected, state), [
      'chain "n-a1b2c3-in" is missing from table inet ctnet',
      'element 10.99.1.0/24 : jump n-a1b2c3-in is missing from map "fwd_in4"',
    ]);
  });

  test('a flushed chain: its rules are counted', () => {
    const state = listingWith((items) => items.filter((i) => !ruleOf('n-a1b2c3-in')(i)));
    assert.deepEqual(missingFromTable(expected, state), ['chain "n-a1b2c3-in" holds 0 rules of "ctnet net a1b2c3", expected 5']);
  });

  test('a flushed base chain and a duplicated rule are named too', () => {
    const state = listingWith((items) => {
      const out = items.filter((i) => !ruleOf('forward')(i));
      const nat = out.find(ruleOf('n-a1b2c3-nat'));
      assert.ok(nat !== undefined);
      return [...out, nat];
    });
    assert.deepEqual(missingFromTable(expected, state), [
      'chain "forward" holds 0 rules of "ctnet base", expected 4',
      'chain "n-a1b2c3-nat" holds 4 rules of "ctnet net a1b2c3", expected 3',
    ]);
  });

  test('a deleted dispatch element and subnet element', () => {
    const state = listingWith((items) => withElems(withElems(items, 'nat4', () => []), 'subnets4', () => []));
    assert.deepEqual(missingFromTable(expected, state), [
      'element 10.99.1.0/24 : jump n-a1b2c3-nat is missing from map "nat4"',
      'element 10.99.1.0/24 is missing from set "subnets4"',
    ]);
  });

  test('a deleted map is named once, not once per element', () => {
    const state = listingWith((items) => items.filter((i) => !named('map', 'fwd_out4')(i)));
    assert.deepEqual(missingFromTable(expected, state), ['map "fwd_out4" is missing from table inet ctnet']);
  });

  test("another network's element under the subnet: the other target and owner are named", () => {
    const other = [{ elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net ffff' } }, { jump: { target: 'n-ffff-in' } }];
    const state = listingWith((items) => withElems(items, 'fwd_in4', () => [other]));
    assert.deepEqual(missingFromTable(expected, state), ['element 10.99.1.0/24 of map "fwd_in4" jumps to n-ffff-in, expected n-a1b2c3-in']);
    const bare = listingWith((items) => withElems(items, 'fwd_in4', () => [[{ prefix: { addr: '10.99.1.0', len: 24 } }, { jump: { target: 'n-a1b2c3-in' } }]]));
    assert.deepEqual(missingFromTable(expected, bare), ['element 10.99.1.0/24 of map "fwd_in4" belongs to "", expected "ctnet net a1b2c3"']);
  });

  test('a network that is not there at all: its chains and elements, nothing of the base', () => {
    const problems = missingFromTable(buildNetworkSetup(INTERNAL), listingWith((items) => items));
    assert.deepEqual(problems, [
      'chain "n-0718293a-in" is missing from table inet ctnet',
      'chain "n-0718293a-out" is missing from table inet ctnet',
      'element 10.99.3.0/28 : jump n-0718293a-in is missing from map "fwd_in4"',
      'element 10.99.3.0/28 : jump n-0718293a-out is missing from map "fwd_out4"',
      'element 10.99.3.0/28 is missing from set "subnets4"',
    ]);
    assert.equal(missingFromTable(buildNetworkSetup(DUAL_STACK), listingWith((items) => items)).filter((p) => p.includes('fd00:99:4::/64')).length, 4);
  });

  test('a full-length prefix matches the bare address nft lists for it', () => {
    const host = { ...NAT, subnets: [parseCidr('10.99.1.7/32')] };
    const state = listingWith((items) => withElems(items, 'subnets4', () => [{ elem: { val: '10.99.1.7', comment: 'ctnet net a1b2c3' } }]));
    assert.ok(!missingFromTable(buildNetworkSetup(host), state).some((p) => p.includes('subnets4')));
  });
});

describe('missingFromTable() for published ports', () => {
  const ep = endpoint(TCP_ANY, UDP_ONE_IP);
  const expected = elementsAndTheirSets(buildPortsSetup(ep));

  test('elementsAndTheirSets() keeps the table, the maps the elements go to and the elements', () => {
    const kinds = expected.map((c) => ('add' in c ? Object.keys(c.add)[0] : 'other'));
    assert.deepEqual(kinds, ['table', 'map', 'map', 'map', 'map', 'element', 'element', 'element', 'element']);
    assert.deepEqual(elementsAndTheirSets(buildPortsSetup(endpoint())), []);
  });

  test('nothing is missing right after the setup; base chains are not looked at', () => {
    assert.deepEqual(missingFromTable(expected, listingWith((items) => items)), []);
    assert.deepEqual(missingFromTable(expected, listingWith((items) => items.filter((i) => !named('chain', 'prerouting')(i)))), []);
  });

  test('one element of a pair deleted: named with its data', () => {
    const state = listingWith((items) => withElems(items, 'pub4_any_port', () => []));
    assert.deepEqual(missingFromTable(expected, state), ['element tcp . 8080 : 80 is missing from map "pub4_any_port"']);
  });

  test('another target or another owner under the key', () => {
    const state = listingWith((items) =>
      withElems(
        withElems(items, 'pub4_any_port', () => [[{ elem: { val: { concat: ['tcp', 8080] }, comment: 'ctnet ep e1e2' } }, 81]]),
        'pub4_ip_addr',
        () => [[{ elem: { val: { concat: ['192.0.2.10', 'udp', 5353] }, comment: 'ctnet ep f3f4' } }, '10.99.1.2']],
      ),
    );
    assert.deepEqual(missingFromTable(expected, state), [
      'element 192.0.2.10 . udp . 5353 of map "pub4_ip_addr" belongs to "ctnet ep f3f4", expected "ctnet ep e1e2"',
      'element tcp . 8080 of map "pub4_any_port" maps to 81, expected 80',
    ]);
  });

  test('a deleted map, and no table', () => {
    const state = listingWith((items) => items.filter((i) => !named('map', 'pub4_ip_port')(i)));
    assert.deepEqual(missingFromTable(expected, state), ['map "pub4_ip_port" is missing from table inet ctnet']);
    assert.deepEqual(missingFromTable(expected, undefined), ['table inet ctnet is missing']);
  });
});
