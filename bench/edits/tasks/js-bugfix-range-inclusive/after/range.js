'use strict';

// Inclusive integer range: range(1, 3) is [1, 2, 3].
function range(start, end, step = 1) {
  if (step <= 0) throw new RangeError('step must be positive');
  const out = [];
  for (let i = start; i <= end; i += step) {
    out.push(i);
  }
  return out;
}

function sumRange(start, end) {
  return range(start, end).reduce((a, b) => a + b, 0);
}

module.exports = { range, sumRange };
