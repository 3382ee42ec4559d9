import { OAuthError } from '../errors/oauth-error.js'
import type { RawParams } from '../model/params.js'

// In model/ because storage keeps them too (pushed requests); re-exported for the rules and routes.
export type { RawParams }

/** RFC 8707 §2: `resource` may be repeated (one per API), RFC 8693 §2.1 `audience` too; no other parameter may. */
const REPEATABLE: ReadonlySet<string> = new Set(['resource', 'audience'])

/** RFC 6749 §3.1: parameters must not be included more than once. */
export function findDuplicate(params: RawParams, names?: readonly string[]): string | undefined {
  return (names ?? Object.keys(params).filter((name) => !REPEATABLE.has(name))).find((name) => Array.isArray(params[name]))
}

export function rejectDuplicates(params: RawParams): void {
  const duplicate = findDuplicate(params)
  if (duplicate !== undefined)
    throw new OAuthError(
      'invalid_request',
      /^[a-z_]{1,40}$/.test(duplicate) ? `parameter ${duplicate} is repeated` : 'a parameter is repeated',
    )
}

/** A single-valued parameter; empty values count as absent (RFC 6749 §3.1). */
export function single(params: RawParams, name: string): string | undefined {
  const value = params[name]
  if (value === undefined || Array.isArray(value)) return undefined
  return value === '' ? undefined : (value as string)
}
