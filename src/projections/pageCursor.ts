/** Pages of a list, newest or oldest first, continued by an opaque cursor. */
export type Page<T> = { items: T[]; nextCursor: string | null };

/** Cursors are opaque to callers: the sort key of the last item, base64url JSON. */
export const encodeCursor = (key: unknown[]): string =>
  Buffer.from(JSON.stringify(key)).toString('base64url');

/**
 * The page of a keyset query that asked for `limit + 1` rows: the extra row only says that a
 * next page exists, which starts after the key of the page's last item.
 */
export const pageOf = <T>(rows: T[], limit: number, keyOf: (item: T) => [string, string]): Page<T> => {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
};

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The [ISO time, uuid] key of a cursor this API gave out; anything else would fail in PostgreSQL's casts. */
export const decodeCursor = (cursor: string): [string, string] => {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(key) &&
      key.length === 2 &&
      typeof key[0] === 'string' &&
      ISO_TIME.test(key[0]) &&
      typeof key[1] === 'string' &&
      UUID.test(key[1])
    )
      return key as [string, string];
  } catch {
    // falls through to the error below
  }
  throw new InvalidCursorError('not a cursor this API gave out');
};
