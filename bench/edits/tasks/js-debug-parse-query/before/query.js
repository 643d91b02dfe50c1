'use strict';

function parseQuery(qs) {
  const params = {};
  const text = qs.startsWith('?') ? qs.slice(1) : qs;
  for (const part of text.split('&')) {
    if (!part) continue;
    const [key, value = ''] = part.split('=');
    console.log('parseQuery:', key, value);
    params[decodeURIComponent(key)] = decodeURIComponent(value);
  }
  return params;
}

function buildQuery(params) {
  return Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

module.exports = { parseQuery, buildQuery };
