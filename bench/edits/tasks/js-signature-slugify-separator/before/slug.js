'use strict';

function slugify(text) {
  return text
    .toLowerCase()
    .trim()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function articlePath(title, id) {
  return `/articles/${id}/${slugify(title)}`;
}

module.exports = { slugify, articlePath };
