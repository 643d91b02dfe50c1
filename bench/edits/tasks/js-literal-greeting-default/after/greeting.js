'use strict';

function greet(name, greeting = 'Hello') {
  return `${greeting}, ${name}!`;
}

function greetAll(names) {
  return names.map((n) => greet(n));
}

module.exports = { greet, greetAll };
