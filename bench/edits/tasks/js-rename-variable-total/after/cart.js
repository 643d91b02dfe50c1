'use strict';

function sumCart(items) {
  let total = 0;
  for (const item of items) {
    total += item.price * (item.qty ?? 1);
  }
  return Math.round(total * 100) / 100;
}

function itemCount(items) {
  let acc = 0;
  for (const item of items) acc += item.qty ?? 1;
  return acc;
}

module.exports = { sumCart, itemCount };
