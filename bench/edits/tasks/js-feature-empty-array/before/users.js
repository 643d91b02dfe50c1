'use strict';

function activeUsers(users) {
  const active = users.filter((u) => u.active);
  return active.length ? active : null;
}

function activeNames(users) {
  const active = activeUsers(users);
  if (active === null) return [];
  return active.map((u) => u.name);
}

module.exports = { activeUsers, activeNames };
