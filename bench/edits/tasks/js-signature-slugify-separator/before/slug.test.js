const test = require('node:test');
const assert = require('node:assert/strict');

const { slugify, articlePath } = require('./slug.js');

test('custom separator', () => {
  assert.equal(slugify('Hello, World', '_'), 'hello_world');
  assert.equal(slugify('a b c', '.'), 'a.b.c');
});

test('default separator is a dash', () => {
  assert.equal(slugify('  Hello, World! '), 'hello-world');
  assert.equal(articlePath('My First Post', 7), '/articles/7/my-first-post');
});
