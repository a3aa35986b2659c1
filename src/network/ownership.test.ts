import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { LinkInfo } from '../netlink/rtnl/link.js';
import { LinkOwnership } from './ownership.js';

const ID = '0a1b2c3d4e5f6a7b';

function link(name: string, alias?: string): LinkInfo {
  return {
    index: 7, name, flags: 0, up: true, mtu: 1500, mac: undefined, masterIndex: undefined, kind: 'veth',
    slaveKind: undefined, parentIndex: undefined, linkNetnsId: undefined, operstate: undefined, alias,
  };
}

describe('LinkOwnership', () => {
  const own = new LinkOwnership('/var/lib/ctnet');

  it('marks with the state directory tag and the id', () => {
    assert.match(own.mark(ID), /^ctnet:[0-9a-f]{8}:0a1b2c3d4e5f6a7b$/);
    assert.equal(own.pendingName(ID), 'ct0a1b2c3d4e5f');
  });

  it('gives each state directory its own tag, the same for every spelling of one', () => {
    assert.notEqual(new LinkOwnership('/var/lib/other').tag, own.tag);
    assert.equal(new LinkOwnership('/var/lib/ctnet/').tag, own.tag);
    assert.equal(new LinkOwnership('/var/lib/../lib/ctnet').tag, own.tag);
  });

  it('owns a link marked for the id, under any name', () => {
    assert.equal(own.owns(link('mybridge', own.mark(ID)), ID), true);
  });

  it('owns an unmarked link only under its pending name', () => {
    assert.equal(own.owns(link('ct0a1b2c3d4e5f'), ID), true);
    assert.equal(own.owns(link('ct0a1b2c3d4e5f', ''), ID), true);
    assert.equal(own.owns(link('eth0'), ID), false);
  });

  it('does not own a link marked for another id, another state directory, or by someone else', () => {
    assert.equal(own.owns(link('ct0a1b2c3d4e5f', own.mark('ffffffffffffffff')), ID), false);
    assert.equal(own.owns(link('ct0a1b2c3d4e5f', new LinkOwnership('/srv/ctnet').mark(ID)), ID), false);
    assert.equal(own.owns(link('ct0a1b2c3d4e5f', 'uplink to the rack'), ID), false);
  });

  it('reads the id back from its own marks only', () => {
    assert.equal(own.idOf(link('x', own.mark(ID))), ID);
    assert.equal(own.idOf(link('x', new LinkOwnership('/srv/ctnet').mark(ID))), undefined);
    assert.equal(own.idOf(link('x')), undefined);
  });

  it('tells links any state directory made from the host\'s own', () => {
    assert.equal(LinkOwnership.madeByCtnet(link('ct-web', new LinkOwnership('/srv/other').mark(ID))), true);
    assert.equal(LinkOwnership.madeByCtnet(link(own.pendingName(ID))), true);
    assert.equal(LinkOwnership.madeByCtnet(link('eth0')), false);
    assert.equal(LinkOwnership.madeByCtnet(link('ct0a1b2c3d4e5f', 'uplink')), false);
  });
});
