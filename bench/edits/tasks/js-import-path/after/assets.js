'use strict';

const path = require('path');

const ASSET_ROOT = 'static';

function assetPath(...parts) {
  return path.join(ASSET_ROOT, ...parts);
}

function withVersion(file, version) {
  const ext = path.extname(file);
  return file.slice(0, file.length - ext.length) + '.' + version + ext;
}

module.exports = { assetPath, withVersion };
