'use strict';

function capitalize(word) {
  if (word === '') return '';
  return word[0].toUpperCase() + word.slice(1);
}

function titleCase(sentence) {
  return sentence.split(' ').map(capitalize).join(' ');
}

module.exports = { capitalize, titleCase };
