'use strict';

function legacyFormat(rows) {
  let out = '';
  for (let i = 0; i < rows.length; i++) {
    out += rows[i].join(';') + '\n';
  }
  return out;
}

function toCsv(rows) {
  return rows.map((r) => r.map(String).join(',')).join('\n');
}

function summary(rows) {
  return `${rows.length} rows`;
}

module.exports = { toCsv, summary };
