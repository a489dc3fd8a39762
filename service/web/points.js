// The pickup points the signed-in user works at: a leader's own, or (for admins) all of the tenant's.
import { gql } from './api.js';
import { edges } from './ui.js';

const MY_POINTS = `query MyPickupPoints { me { leader { id displayName pickupPoints { id name address active } } } }`;
const ALL_POINTS = `query PickupPoints { pickupPoints(first: 100) { edges { node { id name address active } } } }`;

let cache = null;

export async function myPickupPoints(me) {
  if (cache && cache.userId === me.userId) return cache.points;
  const isAdmin = me.roles.includes('TENANT_ADMIN') || me.roles.includes('PLATFORM_ADMIN');
  let points;
  if (isAdmin && !me.roles.includes('LEADER')) {
    points = edges((await gql(ALL_POINTS)).pickupPoints);
  } else {
    const { me: viewer } = await gql(MY_POINTS);
    points = viewer.leader ? viewer.leader.pickupPoints : [];
  }
  cache = { userId: me.userId, points };
  return points;
}

export function forgetPickupPoints() { cache = null; }
