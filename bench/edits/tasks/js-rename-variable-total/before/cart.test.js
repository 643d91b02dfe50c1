const test = require('node:test');
const assert = require('node:assert/strict');

const { sumCart, itemCount } = require('./cart.js');

test('sumCart uses total, not acc', () => {
  const src = sumCart.toString();
  assert.match(src, /\btotal\b/);
  assert.doesNotMatch(src, /\bacc\b/);
});

test('itemCount is left alone and both still add up', () => {
  assert.match(itemCount.toString(), /\bacc\b/);
  assert.equal(sumCart([{ price: 1.1, qty: 3 }, { price: 2 }]), 5.3);
  assert.equal(itemCount([{ qty: 2 }, {}]), 3);
});
