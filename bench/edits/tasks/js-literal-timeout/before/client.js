'use strict';

const TIMEOUT_MS = 5000;
const RETRIES = 2;

function requestOptions(url, overrides = {}) {
  return {
    url,
    timeout: TIMEOUT_MS,
    retries: RETRIES,
    ...overrides,
  };
}

function describe(opts) {
  return `${opts.url} (timeout ${opts.timeout / 1000}s, ${opts.retries} retries)`;
}

module.exports = { requestOptions, describe, TIMEOUT_MS };
