import { describe, expect, it } from 'vitest';
import { JournaledMap } from './journaledMap.js';

describe('JournaledMap', () => {
  it('takes back sets, overwrites and deletes made since the journal started, and only those', () => {
    const map = new JournaledMap<string, number>([
      ['a', 1],
      ['b', 2],
    ]);
    map.set('before', 0);
    map.startJournal();
    map.set('a', 10);
    map.set('a', 11);
    map.delete('b');
    map.set('c', 3);
    expect([...map]).toEqual([
      ['a', 11],
      ['before', 0],
      ['c', 3],
    ]);
    map.undoChanges();
    expect(new Map(map)).toEqual(
      new Map([
        ['a', 1],
        ['b', 2],
        ['before', 0],
      ]),
    );
  });

  it('keeps the changes when told to, and forgets the journal', () => {
    const map = new JournaledMap<string, number>([['a', 1]]);
    map.startJournal();
    map.set('a', 2);
    map.keepChanges();
    map.set('a', 3);
    map.undoChanges();
    expect(map.get('a')).toBe(3);
  });
});
