'use strict';

function repeat(text, times) {
  if (!Number.isInteger(times) || times < 0) {
    throw new RangeError('times must be a non-negative integer');
  }
  return text.repeat(times);
}

function rule(width) {
  return repeat('-', width);
}

function banner(title) {
  const line = repeat('*', title.length + 4);
  return `${line}\n* ${title} *\n${line}`;
}

module.exports = { repeat, rule, banner };
