'use strict';

function toCsv(rows) {
  return rows.map((r) => r.map(String).join(',')).join('\n');
}

function summary(rows) {
  return `${rows.length} rows`;
}

module.exports = { toCsv, summary };
