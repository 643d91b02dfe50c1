const test = require('node:test');
const assert = require('node:assert/strict');

const { capitalize, titleCase } = require('./strings.js');

test('empty string', () => {
  assert.equal(capitalize(''), '');
  assert.equal(titleCase('hello  world'), 'Hello  World');
});

test('words are capitalised', () => {
  assert.equal(capitalize('x'), 'X');
  assert.equal(titleCase('the quick fox'), 'The Quick Fox');
});
