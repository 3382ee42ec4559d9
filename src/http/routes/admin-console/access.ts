/**
 * Who may use the admin console (docs/security.md §I "admin surface"): a signed-in user with the
 * role `admin` whose session used a second factor. The rule is pure (adminAccess); the hook runs
 * it for every console request before anything else (onRequest: not even a validation error is
 * shown to anyone else) and sends the browser where the rule says:
 *
 *   no session (or a disabled account)  → /login, then back to the console page
 *   not an admin                        → a 403 page
 *   an admin without a second factor    → /account/second-factor to set one up
 *   a session below urn:tessera:mfa     → the second factor for this session (a step-up), then back
 */
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { Deps } from '../../../deps.js'
import { PageError } from '../../../errors/oauth-error.js'
import { factorsOf, hasSecondFactor, type FactorSummary } from '../../../factors/summary.js'
import { negotiateLocale } from '../../../i18n/negotiate.js'
import type { AuthenticationMethod } from '../../../model/authentication.js'
import { ADMIN_ROLE, isEnabledAdmin, type User } from '../../../model/user.js'
import { ACR_MFA, acrOf, satisfiesAcr } from '../../../oauth/acr.js'
import { startPendingLogin } from '../../pending-login.js'
import { isReturnPath, rememberReturnPath } from '../../return-to.js'
import { currentSession } from '../../session-cookie.js'

export type AdminAccess = 'sign-in' | 'forbidden' | 'set-up-factor' | 'step-up' | 'allowed'

/** The rule: what a request with this user (undefined: no live session), factors and session methods gets. */
export function adminAccess(
  user: Pick<User, 'roles' | 'disabledAt'> | undefined,
  factors: FactorSummary | null,
  amr: readonly AuthenticationMethod[],
): AdminAccess {
  if (user === undefined || user.disabledAt !== null) return 'sign-in'
  if (!user.roles.includes(ADMIN_ROLE)) return 'forbidden'
  if (factors === null || !hasSecondFactor(factors)) return 'set-up-factor'
  return satisfiesAcr(acrOf(amr), ACR_MFA) ? 'allowed' : 'step-up'
}

const FORBIDDEN = new PageError(403, 'errors.console_forbidden')

/**
 * Where to come back after signing in: the page asked for, when it is a console page a browser can
 * open again (a GET whose path return-to.ts accepts), else the console's first page. A form post
 * is never replayed.
 */
const comeBackTo = (request: FastifyRequest): string => (request.method === 'GET' && isReturnPath(request.url) ? request.url : '/admin')

/** The console scope's onRequest hook: lets admins through (setting request.consoleAdmin) and sends everyone else on. */
export function adminGate(deps: Deps): onRequestHookHandler {
  return async function gate(request: FastifyRequest, reply: FastifyReply) {
    const session = await currentSession(deps, request)
    const user = session ? await deps.repos.users.findById(session.userId) : undefined
    const isAdmin = user !== undefined && isEnabledAdmin(user)
    const factors = isAdmin ? await factorsOf(deps, user.id) : null
    const access = adminAccess(user, factors, session?.amr ?? [])
    if (!session || !user || access === 'sign-in') {
      rememberReturnPath(deps, reply, comeBackTo(request))
      return reply.redirect('/login', 303)
    }
    if (access === 'forbidden') {
      // The refusal in the user's saved language: page-locale.ts reads that choice only before a
      // handler, which this request never reaches (the language it chose so far stays the fallback).
      request.locale = negotiateLocale({ preference: user.locale, defaultLocale: request.locale ?? deps.i18n.defaultLocale })
      throw FORBIDDEN
    }
    if (access === 'set-up-factor') return reply.redirect('/account/second-factor', 303)
    if (access === 'step-up') {
      // A post (a form left open from an older session) starts nothing: the console's page asks.
      if (request.method !== 'GET') return reply.redirect('/admin', 303)
      await startPendingLogin(deps, reply, { userId: user.id, amr: session.amr, interactionId: null, sessionIdHash: session.idHash })
      rememberReturnPath(deps, reply, comeBackTo(request))
      return reply.redirect('/login/second-factor', 303)
    }
    request.consoleAdmin = { session, user, actor: { kind: 'user', userId: user.id } }
  }
}
