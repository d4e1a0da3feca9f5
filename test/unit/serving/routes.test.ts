import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathSegments, RouteTable, type Route } from '../../../server/engine/serving/routes';

const r = (method: string, path: string, access: Route<string>['access'] = 'open'): Route<string> => ({
  method,
  path,
  access,
  handler: `${method} ${path}`,
});

const table = new RouteTable<string>(
  [
    r('GET', '/v2/health/live', 'public'),
    r('GET', '/v2'),
    r('GET', '/metrics'),
    r('GET', '/v2/models/:model'),
    r('GET', '/v2/models/:model/versions/:version'),
    r('POST', '/v2/models/:model/infer'),
    r('POST', '/v2/models/:model/versions/:version/infer'),
    r('GET', '/v2/models/:model/monitor/stream'),
    r('GET', '/v2/repository/index', 'token'),
    r('POST', '/v2/repository/index', 'token'),
    r('GET', '/v2/repository/models/:model/monitor', 'token'),
    r('PUT', '/v2/repository/models/:model/monitor', 'token'),
  ],
  ['/v2/repository'],
);

test('a route is found with its parameters, percent-decoded one segment at a time', () => {
  const m = table.match('POST', '/v2/models/weather/versions/1.0.0/infer');
  assert.equal(m.kind, 'found');
  assert.ok(m.kind === 'found');
  assert.equal(m.route.handler, 'POST /v2/models/:model/versions/:version/infer');
  assert.deepEqual(m.params, { model: 'weather', version: '1.0.0' });
  // %2F stays inside its segment (the name check refuses it later); literals match decoded too.
  const enc = table.match('POST', '/v2/models/a%2F..%2Fb/%69nfer');
  assert.ok(enc.kind === 'found');
  assert.deepEqual(enc.params, { model: 'a/../b' });
  // Dot segments are never resolved: ".." is a parameter value like any other.
  const dots = table.match('POST', '/v2/models/../infer');
  assert.ok(dots.kind === 'found');
  assert.deepEqual(dots.params, { model: '..' });
  assert.equal(table.match('GET', '/v2/models/%E0%A4%A').kind, 'bad-url');
});

test('one trailing slash and the query string are ignored; empty segments are not', () => {
  assert.equal(table.match('GET', '/v2/').kind, 'found');
  assert.equal(table.match('GET', '/v2?x=1').kind, 'found');
  assert.equal(table.match('GET', '/v2/models/weather/?a=b').kind, 'found');
  assert.equal(table.match('GET', '/v2//').kind, 'none');
  assert.equal(table.match('GET', '/v2//health/live').kind, 'none');
  // An empty parameter still matches, so the name check can refuse it (400 rather than 404).
  const empty = table.match('POST', '/v2/models//infer');
  assert.ok(empty.kind === 'found');
  assert.deepEqual(empty.params, { model: '' });
  assert.deepEqual(pathSegments('/a/b%20c/?q=%2F'), ['a', 'b c']);
  assert.deepEqual(pathSegments('/'), []);
});

test('404 when no route has the path, 405 with the allowed methods when another method has it', () => {
  assert.deepEqual(table.match('GET', '/v2/no/such/route'), { kind: 'none', access: 'open' });
  assert.deepEqual(table.match('GET', '/v2/models/weather/versions'), { kind: 'none', access: 'open' });
  assert.deepEqual(table.match('GET', '/v2/models/weather/monitor/other'), { kind: 'none', access: 'open' });
  assert.deepEqual(table.match('GET', '/v2/models/weather/infer'), { kind: 'method', allow: ['POST'], access: 'open' });
  assert.deepEqual(table.match('DELETE', '/v2/repository/index'), {
    kind: 'method',
    allow: ['GET', 'POST'],
    access: 'token',
  });
  assert.deepEqual(table.match('POST', '/v2/health/live'), { kind: 'method', allow: ['GET'], access: 'public' });
  // HEAD is a method of its own: no route answers it.
  assert.equal(table.match('HEAD', '/v2').kind, 'method');
});

test('an unknown path under a management prefix still asks for the token', () => {
  assert.deepEqual(table.match('GET', '/v2/repository/nothing'), { kind: 'none', access: 'token' });
  assert.deepEqual(table.match('GET', '/v2/repository'), { kind: 'none', access: 'token' });
  assert.deepEqual(table.match('GET', '/v2/repositoryx'), { kind: 'none', access: 'open' });
  const m = table.match('PUT', '/v2/repository/models/weather/monitor');
  assert.ok(m.kind === 'found');
  assert.equal(m.route.access, 'token');
});

test('the table refuses an unprotected route under a management prefix, and a route twice', () => {
  assert.throws(
    () => new RouteTable([r('POST', '/v2/repository/x', 'open')], ['/v2/repository']),
    /not token-protected/,
  );
  assert.throws(
    () => new RouteTable([r('GET', '/v2/models/:model'), r('GET', '/v2/models/:name')]),
    /in the table twice/,
  );
  assert.throws(() => new RouteTable([r('GET', 'v2')]), /must start with/);
});

test('the first route in table order wins when patterns overlap', () => {
  const t = new RouteTable([r('GET', '/a/literal'), r('GET', '/a/:param')]);
  const lit = t.match('GET', '/a/literal');
  assert.ok(lit.kind === 'found');
  assert.equal(lit.route.handler, 'GET /a/literal');
  const par = t.match('GET', '/a/other');
  assert.ok(par.kind === 'found');
  assert.deepEqual(par.params, { param: 'other' });
});
