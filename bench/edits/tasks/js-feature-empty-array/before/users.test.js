const test = require('node:test');
const assert = require('node:assert/strict');

const { activeUsers, activeNames } = require('./users.js');

test('no match is an empty array', () => {
  assert.deepEqual(activeUsers([{ name: 'a', active: false }]), []);
  assert.deepEqual(activeUsers([]), []);
});

test('matches', () => {
  const users = [{ name: 'a', active: true }, { name: 'b', active: false }];
  assert.deepEqual(activeNames(users), ['a']);
  assert.deepEqual(activeNames([]), []);
});
