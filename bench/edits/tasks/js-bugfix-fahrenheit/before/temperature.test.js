const test = require('node:test');
const assert = require('node:assert/strict');

const { celsiusToFahrenheit, fahrenheitToCelsius, describe } = require('./temperature.js');

test('celsius to fahrenheit', () => {
  assert.equal(celsiusToFahrenheit(100), 212);
  assert.equal(celsiusToFahrenheit(0), 32);
  assert.equal(describe(-40), '-40°C is -40°F');
});

test('round trip', () => {
  assert.equal(fahrenheitToCelsius(celsiusToFahrenheit(37)), 37);
});
