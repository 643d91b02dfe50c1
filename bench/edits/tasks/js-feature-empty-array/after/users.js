'use strict';

function activeUsers(users) {
  const active = users.filter((u) => u.active);
  return active;
}

function activeNames(users) {
  const active = activeUsers(users);
  return active.map((u) => u.name);
}

module.exports = { activeUsers, activeNames };
