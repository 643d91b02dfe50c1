const test = require('node:test');
const assert = require('node:assert/strict');

const { assetPath, withVersion } = require('./assets.js');

test('assetPath joins under the asset root', () => {
  assert.equal(assetPath('css', 'site.css'), 'static/css/site.css');
});

test('withVersion puts the version before the extension', () => {
  assert.equal(withVersion('app.js', '3'), 'app.3.js');
});
