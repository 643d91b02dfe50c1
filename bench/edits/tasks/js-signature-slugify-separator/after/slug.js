'use strict';

function slugify(text, separator = '-') {
  return text
    .toLowerCase()
    .trim()
    .replace(/[^a-z0-9]+/g, separator)
    .replace(/^-+|-+$/g, '');
}

function articlePath(title, id) {
  return `/articles/${id}/${slugify(title)}`;
}

module.exports = { slugify, articlePath };
