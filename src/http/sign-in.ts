/**
 * The end of every successful sign-in, whatever proved it (a password alone, a password and a
 * second factor, a passkey, a step-up): a fresh session (no fixation) carrying how the user
 * authenticated, the device cookie, the security event, and where the browser goes next.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../deps.js'
import { factorsOf, hasSecondFactor } from '../factors/summary.js'
import type { AuthenticationMethod } from '../model/authentication.js'
import type { Interaction } from '../model/interaction.js'
import type { User } from '../model/user.js'
import { continueAfterLogin } from './authorization.js'
import { readDeviceCookie, rememberDevice } from './device-cookie.js'
import { startSession } from './session-cookie.js'
import { takeReturnPath } from './return-to.js'
import { takePendingLink } from './upstream-login.js'
import { completePendingLink } from '../connections/federated-identities.js'

export interface CompletedSignIn {
  readonly user: User
  readonly amr: readonly AuthenticationMethod[]
  readonly interaction: Interaction | null
  /** The session this sign-in steps up (same browser, same user), for the audit trail. */
  readonly stepUp?: boolean
  /** The connection of a federated sign-in (its id), for the audit trail. */
  readonly connection?: string
}

/** Methods that prove control of a local account, so a pending upstream link may join it. */
const PROVES_ACCOUNT: readonly AuthenticationMethod[] = ['pwd', 'hwk', 'swk']

/** Returns the redirect target. */
export async function completeSignIn(deps: Deps, request: FastifyRequest, reply: FastifyReply, signIn: CompletedSignIn): Promise<string> {
  const { user, amr, interaction } = signIn
  const session = await startSession(deps, request, reply, user.id, amr)
  rememberDevice(reply, deps.config.issuerIsHttps, readDeviceCookie(request, deps.config.issuerIsHttps), user.email)
  const clientId = interaction?.request.clientId
  const detail = { amr: [...amr], ...(signIn.connection !== undefined ? { connection: signIn.connection } : {}) }
  const [type, message] = signIn.stepUp
    ? (['step_up', 'session stepped up'] as const)
    : signIn.connection !== undefined
      ? (['federated_login', 'federated sign-in succeeded'] as const)
      : (['login_success', 'login succeeded'] as const)
  await deps.audit.record(type, { userId: user.id, clientId, ip: request.ip, detail }, message)
  // An upstream identity waiting for proof of this account (the same address) joins it now.
  const pendingLink = await takePendingLink(deps, request, reply)
  if (pendingLink && pendingLink.email === user.email && amr.some((method) => PROVES_ACCOUNT.includes(method)))
    await completePendingLink(deps, pendingLink, user, request.ip)
  if (interaction) return continueAfterLogin(deps, reply, interaction.id, interaction.request, session)
  // Without an application waiting: the account page, where a user whose role requires a second
  // factor is asked to set one up first.
  const mustEnroll =
    user.roles.some((role) => deps.config.mfaRequiredRoles.includes(role)) && !hasSecondFactor(await factorsOf(deps, user.id))
  // A page that sent the user to sign in (the device verification page) gets them back.
  const back = takeReturnPath(deps, request, reply)
  return mustEnroll ? '/account/second-factor' : (back ?? '/account')
}
