const test = require('node:test');
const assert = require('node:assert/strict');

const fs = require('node:fs');
const { median, percentile } = require('./median.js');

const ORIGINAL = `function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}`;

test('median has a JSDoc comment right above it', () => {
  const src = fs.readFileSync(require.resolve('./median.js'), 'utf8');
  assert.match(src, /\/\*\*[\s\S]*?\*\/\s*function median\(/);
});

test('the code is unchanged', () => {
  assert.equal(median.toString(), ORIGINAL);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(percentile([1, 2, 3, 4], 50), 3);
});
