'use strict';

function greet(name, greeting = 'Hi') {
  return `${greeting}, ${name}!`;
}

function greetAll(names) {
  return names.map((n) => greet(n));
}

module.exports = { greet, greetAll };
