/** What second factors a user has, what they can reach with them, and the operator's reset. */
import { ACR_MFA, ACR_PASSWORD, ACR_PHISHING_RESISTANT, type Acr } from '../oauth/acr.js'
import type { User } from '../model/user.js'
import { mailFactorChange, type FactorContext } from './context.js'

export interface FactorSummary {
  readonly passkeys: number
  /** A confirmed authenticator app. */
  readonly totp: boolean
  readonly recoveryCodes: number
}

export async function factorsOf(context: Pick<FactorContext, 'repos'>, userId: string): Promise<FactorSummary> {
  const [passkeys, totp, recoveryCodes] = await Promise.all([
    context.repos.passkeys.listForUser(userId),
    context.repos.totp.find(userId),
    context.repos.recoveryCodes.countUnused(userId),
  ])
  return { passkeys: passkeys.length, totp: totp?.confirmedAt != null, recoveryCodes }
}

/** Signing in with a password asks for a second factor exactly when the user has one. */
export const hasSecondFactor = (summary: FactorSummary): boolean => summary.passkeys > 0 || summary.totp

/** The strongest class the user can authenticate at (oauth/acr.ts). */
export const reachableAcr = (summary: FactorSummary): Acr =>
  summary.passkeys > 0 ? ACR_PHISHING_RESISTANT : summary.totp ? ACR_MFA : ACR_PASSWORD

/**
 * When the last second factor goes, the recovery codes go too: they stood in for a factor that
 * no longer exists.
 */
export async function dropOrphanedRecoveryCodes(context: FactorContext, userId: string): Promise<void> {
  if (!hasSecondFactor(await factorsOf(context, userId))) await context.repos.recoveryCodes.removeAll(userId)
}

/**
 * An operator's reset (accounts/lifecycle.ts): every passkey, the authenticator app and the
 * recovery codes go; audited with the actor (model/actor.ts actorLabel) and mailed.
 */
export async function resetFactors(context: FactorContext, user: User, actor: string): Promise<FactorSummary> {
  const before = await factorsOf(context, user.id)
  await context.repos.passkeys.removeAllForUser(user.id)
  await context.repos.totp.remove(user.id)
  await context.repos.recoveryCodes.removeAll(user.id)
  await context.audit.record(
    'factors_reset',
    { userId: user.id, detail: { actor, passkeys: before.passkeys, totp: before.totp } },
    'second factors reset',
  )
  await mailFactorChange(context, user, 'factors_reset')
  return before
}
