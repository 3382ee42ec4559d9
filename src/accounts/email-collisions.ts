/**
 * Accounts whose stored addresses mean the same mailbox once normalised (accounts/email-address.ts):
 * left as they were by the migration to canonical emails, never merged. Only the account stored in
 * the canonical form answers sign-ins; the others wait for an operator (`idp users collisions`).
 */
import type { User } from '../model/user.js'
import { normaliseEmail } from './email-address.js'

export interface EmailCollision {
  readonly canonical: string
  readonly users: readonly User[]
}

export function emailCollisions(users: readonly User[]): EmailCollision[] {
  const groups = new Map<string, User[]>()
  for (const user of users) {
    const canonical = normaliseEmail(user.email)
    groups.set(canonical, [...(groups.get(canonical) ?? []), user])
  }
  return [...groups].filter(([, members]) => members.length > 1).map(([canonical, members]) => ({ canonical, users: members }))
}

/** One line for the operator after migrating, or null when nothing collides. */
export function collisionWarning(collisions: readonly EmailCollision[]): string | null {
  if (collisions.length === 0) return null
  const accounts = collisions.reduce((sum, group) => sum + group.users.length, 0)
  const unreachable = collisions.reduce((sum, group) => sum + group.users.filter((user) => user.email !== group.canonical).length, 0)
  return (
    `${accounts} accounts share ${collisions.length} email addresses once normalised; ${unreachable} of them cannot sign in ` +
    'until resolved: run idp users collisions (nothing was merged)'
  )
}
