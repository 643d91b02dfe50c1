const test = require('node:test');
const assert = require('node:assert/strict');

const fs = require('node:fs');
const prices = require('./prices.js');

test('formatCurrency formats amounts', () => {
  assert.equal(prices.formatCurrency(3), '€3.00');
});

test('the old name is gone everywhere', () => {
  assert.equal(prices.formatPrice, undefined);
  assert.ok(!fs.readFileSync(require.resolve('./prices.js'), 'utf8').includes('formatPrice'));
});

test('callers still work', () => {
  assert.equal(prices.formatRange(1, 2.5), '€1.00 - €2.50');
  assert.equal(prices.priceTag({ name: 'mug', price: 4 }), 'mug: €4.00');
});
