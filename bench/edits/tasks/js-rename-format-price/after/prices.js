'use strict';

const CURRENCY = '€';

function formatCurrency(amount) {
  return CURRENCY + amount.toFixed(2);
}

function formatRange(low, high) {
  return `${formatCurrency(low)} - ${formatCurrency(high)}`;
}

function priceTag(item) {
  return `${item.name}: ${formatCurrency(item.price)}`;
}

module.exports = { formatCurrency, formatRange, priceTag };
