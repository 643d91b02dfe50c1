const test = require('node:test');
const assert = require('node:assert/strict');

const fs = require('node:fs');
const { toCsv, summary } = require('./report.js');

test('legacyFormat is deleted', () => {
  const src = fs.readFileSync(require.resolve('./report.js'), 'utf8');
  assert.ok(!src.includes('legacyFormat'));
});

test('the rest works', () => {
  assert.equal(toCsv([[1, 2], ['a', 'b']]), '1,2\na,b');
  assert.equal(summary([[1]]), '1 rows');
});
