const test = require('node:test');
const assert = require('node:assert/strict');

const { greet, greetAll } = require('./greeting.js');

test('default greeting is Hello', () => {
  assert.equal(greet('Ann'), 'Hello, Ann!');
  assert.deepEqual(greetAll(['a', 'b']), ['Hello, a!', 'Hello, b!']);
});

test('explicit greeting still used', () => {
  assert.equal(greet('Bo', 'Hey'), 'Hey, Bo!');
});
