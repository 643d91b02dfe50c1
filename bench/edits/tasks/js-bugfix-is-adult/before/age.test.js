const test = require('node:test');
const assert = require('node:assert/strict');

const { isAdult, canVote } = require('./age.js');

test('18 is adult', () => {
  assert.equal(isAdult(18), true);
  assert.equal(canVote(2006, 2024), true);
});

test('younger is not', () => {
  assert.equal(isAdult(17), false);
  assert.equal(isAdult(40), true);
});
