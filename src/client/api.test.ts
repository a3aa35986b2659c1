import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { matchRoute, ROUTES, routePath, selectorQuery, statusOf } from './api.js';

describe('routePath() and matchRoute()', () => {
  it('give back the parameters they were given, however they are spelt', () => {
    for (const container of ['c1', '/run/netns/c1', 'pid:1234', 'a b%/?#', '']) {
      const path = routePath('disconnect', { network: 'n1', container }, selectorQuery({ owner: 'cni', ifname: 'eth1' }));
      const url = new URL(path, 'http://ctnet');
      assert.deepEqual(matchRoute('DELETE', url.pathname), { name: 'disconnect', params: { network: 'n1', container } });
      assert.deepEqual(Object.fromEntries(url.searchParams), { owner: 'cni', ifname: 'eth1' });
    }
  });

  it('find every route by its own method and path', () => {
    for (const [name, route] of Object.entries(ROUTES)) {
      const path = route.path.replace(/\{\w+\}/g, 'x');
      const found = matchRoute(route.method, path);
      assert.ok(found !== undefined && found !== 'method', `${route.method} ${path}`);
      assert.equal(found.name, name);
    }
  });

  it('tell a path of other methods from one that does not exist', () => {
    assert.equal(matchRoute('PUT', '/v1/networks'), 'method');
    assert.equal(matchRoute('GET', '/v1/nothing'), undefined);
    assert.equal(matchRoute('GET', '/v2/networks'), undefined);
    assert.throws(() => matchRoute('GET', '/v1/networks/%zz'), URIError);
  });
});

describe('statusOf()', () => {
  it('answers refusals with 4xx, a busy lock with 503, failures with 500', () => {
    assert.equal(statusOf('CTNET_INVALID_CONFIG'), 400);
    assert.equal(statusOf('CTNET_NOT_FOUND'), 404);
    assert.equal(statusOf('CTNET_CONFLICT'), 409);
    assert.equal(statusOf('CTNET_TIMEOUT'), 503);
    assert.equal(statusOf('CTNET_MISDIRECTED'), 421);
    assert.equal(statusOf('CTNET_NETLINK'), 500);
    assert.equal(statusOf('CTNET_INTERNAL'), 500);
  });
});
