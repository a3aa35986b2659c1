import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { describeValue } from './describe.js';

test('describeValue() quotes JSON, and names the type of what JSON cannot show', () => {
  assert.equal(describeValue({ a: 1 }), '{"a":1}');
  assert.equal(describeValue('x'), '"x"');
  assert.equal(describeValue(undefined), 'undefined');
  assert.equal(describeValue(() => 1), 'function');
});
