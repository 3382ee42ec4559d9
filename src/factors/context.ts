import type { Deps } from '../deps.js'
import type { User } from '../model/user.js'
import type { FactorChange } from '../accounts/mails.js'

/** What the second-factor services use: a narrow view of Deps. */
export type FactorContext = Pick<Deps, 'config' | 'repos' | 'clock' | 'audit' | 'mail' | 'factorKey'>

/** WebAuthn's relying party is the issuer: its host is the RP ID, its origin the only origin. */
export function relyingParty(context: Pick<FactorContext, 'config'>): {
  readonly id: string
  readonly origin: string
  readonly name: string
} {
  const url = new URL(context.config.issuer)
  return { id: url.hostname, origin: url.origin, name: 'Tessera' }
}

/** Queues the notice (built when it is sent: the user's address and name as they are then). */
export function mailFactorChange(context: FactorContext, user: Pick<User, 'id'>, change: FactorChange): Promise<void> {
  return context.mail.enqueue({ template: 'factor_changed', userId: user.id, change })
}
