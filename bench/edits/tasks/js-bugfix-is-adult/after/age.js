'use strict';

const ADULT_AGE = 18;

function ageOn(birthYear, year) {
  return year - birthYear;
}

function isAdult(age) {
  return age >= ADULT_AGE;
}

function canVote(birthYear, electionYear) {
  return isAdult(ageOn(birthYear, electionYear));
}

module.exports = { ageOn, isAdult, canVote };
