const test = require('node:test');
const assert = require('node:assert/strict');

const { range, sumRange } = require('./range.js');

test('end is included', () => {
  assert.deepEqual(range(1, 5), [1, 2, 3, 4, 5]);
  assert.deepEqual(range(0, 10, 5), [0, 5, 10]);
  assert.deepEqual(range(3, 3), [3]);
});

test('sums and errors', () => {
  assert.equal(sumRange(1, 4), 10);
  assert.deepEqual(range(5, 1), []);
  assert.throws(() => range(1, 2, 0), RangeError);
});
