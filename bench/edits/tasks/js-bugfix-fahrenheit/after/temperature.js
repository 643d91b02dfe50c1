'use strict';

function celsiusToFahrenheit(c) {
  return (c * 9) / 5 + 32;
}

function fahrenheitToCelsius(f) {
  return ((f - 32) * 5) / 9;
}

function describe(c) {
  const f = celsiusToFahrenheit(c);
  return `${c}°C is ${f}°F`;
}

module.exports = { celsiusToFahrenheit, fahrenheitToCelsius, describe };
