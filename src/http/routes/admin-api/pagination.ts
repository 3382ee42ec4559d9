/**
 * Cursor pagination of the admin API's lists: `limit` and an opaque `cursor` in, `next_cursor` out
 * (null on the last page). A cursor is the position of the last item of a page (its sort key,
 * base64url JSON): the next page starts right after it, so items added or removed meanwhile never
 * make a page repeat or skip one that stayed.
 */
import { Type } from '@sinclair/typebox'
import { Problem } from '../../../errors/problem.js'

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 200

/** The query members every list takes. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, description: `Items per page (default ${DEFAULT_LIMIT})` })),
  cursor: Type.Optional(
    Type.String({ minLength: 1, maxLength: 600, description: 'The `next_cursor` of the previous page; absent for the first page' }),
  ),
}

export const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'Pass as `cursor` for the next page; null on the last page',
})

/** A sort key: the values a list is ordered by, e.g. (created_at, id). */
export type Position = readonly (string | number)[]

export const encodeCursor = (position: Position): string => Buffer.from(JSON.stringify(position), 'utf8').toString('base64url')

/** The position in `cursor`, which must have the list's shape; a 400 problem otherwise. */
export function decodeCursor<const Shape extends readonly ('string' | 'number')[]>(
  cursor: string | undefined,
  shape: Shape,
): { [K in keyof Shape]: Shape[K] extends 'number' ? number : string } | undefined {
  if (cursor === undefined) return undefined
  const refused = new Problem(400, 'invalid-cursor', 'cursor must be the next_cursor of a previous page of this list', {
    errors: [{ parameter: 'cursor', detail: 'not a cursor of this list' }],
  })
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw refused
  }
  if (!Array.isArray(value) || value.length !== shape.length) throw refused
  value.forEach((member, index) => {
    const ok = shape[index] === 'number' ? Number.isSafeInteger(member) : typeof member === 'string' && member.length <= 400
    if (!ok) throw refused
  })
  return value as { [K in keyof Shape]: Shape[K] extends 'number' ? number : string }
}

export interface Page<T> {
  readonly items: readonly T[]
  readonly nextCursor: string | null
}

/**
 * A page from rows fetched with `limit + 1`: the extra row only says that there is a next page;
 * the cursor is the position of the last row shown.
 */
export function pageFrom<T>(fetched: readonly T[], limit: number, position: (item: T) => Position): Page<T> {
  const items = fetched.slice(0, limit)
  const last = items[items.length - 1]
  return { items, nextCursor: fetched.length > limit && last !== undefined ? encodeCursor(position(last)) : null }
}

const compare = (a: Position, b: Position): number => {
  for (let index = 0; index < Math.min(a.length, b.length); index++) {
    const [x, y] = [a[index]!, b[index]!]
    if (x < y) return -1
    if (x > y) return 1
  }
  return a.length - b.length
}

/** A page of a short list held in memory (keys, APIs, connections, one user's sessions), in ascending `position` order. */
export function pageOfList<T>(all: readonly T[], limit: number, position: (item: T) => Position, after: Position | undefined): Page<T> {
  const sorted = [...all].sort((a, b) => compare(position(a), position(b)))
  const rest = after === undefined ? sorted : sorted.filter((item) => compare(position(item), after) > 0)
  return pageFrom(rest.slice(0, limit + 1), limit, position)
}
