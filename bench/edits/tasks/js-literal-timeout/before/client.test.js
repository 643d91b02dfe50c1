const test = require('node:test');
const assert = require('node:assert/strict');

const { requestOptions, describe } = require('./client.js');

test('default timeout is ten seconds', () => {
  assert.equal(requestOptions('/a').timeout, 10000);
  assert.equal(describe(requestOptions('/u')), '/u (timeout 10s, 2 retries)');
});

test('overrides still win', () => {
  assert.equal(requestOptions('/a', { timeout: 1 }).timeout, 1);
});
