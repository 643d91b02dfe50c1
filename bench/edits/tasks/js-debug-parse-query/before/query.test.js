const test = require('node:test');
const assert = require('node:assert/strict');

const { parseQuery, buildQuery } = require('./query.js');

test('parseQuery logs nothing', () => {
  const logged = [];
  const original = console.log;
  console.log = (...args) => logged.push(args);
  try {
    parseQuery('?a=1&b=x%20y');
  } finally {
    console.log = original;
  }
  assert.deepEqual(logged, []);
});

test('parsing still works', () => {
  assert.deepEqual(parseQuery('?a=1&b=x%20y&c'), { a: '1', b: 'x y', c: '' });
  assert.equal(buildQuery({ q: 'a b' }), 'q=a%20b');
});
