import type { Position as EsdbPosition } from '@eventstore/db-client';
import { type Position, padPositionPart } from '../eventStore.js';

/**
 * EventStoreDB places an event in `$all` by its commit and prepare positions. The port's
 * position is both, fixed width, commit first: ordered as strings the way `$all` is ordered.
 */
export const encodePosition = ({ commit, prepare }: EsdbPosition): Position =>
  `${padPositionPart(commit)}/${padPositionPart(prepare)}`;

export const decodePosition = (position: Position): EsdbPosition => {
  const match = /^(\d{20})\/(\d{20})$/.exec(position);
  if (!match) throw new RangeError(`not an EventStoreDB position: ${position}`);
  return { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) };
};
