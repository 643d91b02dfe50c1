'use strict';

const CURRENCY = '€';

function formatPrice(amount) {
  return CURRENCY + amount.toFixed(2);
}

function formatRange(low, high) {
  return `${formatPrice(low)} - ${formatPrice(high)}`;
}

function priceTag(item) {
  return `${item.name}: ${formatPrice(item.price)}`;
}

module.exports = { formatPrice, formatRange, priceTag };
