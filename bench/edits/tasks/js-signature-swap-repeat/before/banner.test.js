const test = require('node:test');
const assert = require('node:assert/strict');

const { repeat, rule, banner } = require('./banner.js');

test('text comes first', () => {
  assert.equal(repeat('ab', 3), 'ababab');
  assert.throws(() => repeat('x', -1), RangeError);
});

test('callers were updated', () => {
  assert.equal(rule(3), '---');
  assert.equal(banner('hi'), '******\n* hi *\n******');
});
