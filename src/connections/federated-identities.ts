/**
 * Who an upstream sign-in is here. An upstream account is matched by (connection, subject) only:
 * never by email (the "nOAuth" takeover), and claims that can change upstream (email, name) never
 * change who the user is. An unknown upstream account becomes a new local account (just in time),
 * unless its email already belongs to one: then the user must prove control of that account (its
 * password or passkey) before the two are linked.
 */
import type { Deps } from '../deps.js'
import { emailAddressProblem, normaliseEmail } from '../accounts/email-address.js'
import { MAX_NAME_LENGTH } from '../accounts/signup.js'
import { sealEnvelope } from '../keys/envelope.js'
import type { AuthenticationMethod } from '../model/authentication.js'
import type { Connection, FederatedIdentity, UpstreamProfile } from '../model/connection.js'
import { hasPassword, NO_PASSWORD, type User } from '../model/user.js'
import type { PendingLink, UpstreamLogin } from '../db/repositories/upstream-logins.js'
import { emailVerifiedHere } from '../oauth/upstream.js'
import { hashSecret, randomId, randomToken } from '../secrets.js'

type IdentityDeps = Pick<Deps, 'repos' | 'clock' | 'audit' | 'upstreamKey'>

/** Long enough to remember a password; the upstream sign-in must be repeated after it. */
export const PENDING_LINK_SECONDS = 600

export type FederatedOutcome =
  | { readonly kind: 'sign_in'; readonly user: User; readonly amr: readonly AuthenticationMethod[] }
  | { readonly kind: 'linked'; readonly user: User }
  /** The email belongs to an account: `linkToken` goes to the browser, which must now sign in to it. */
  | { readonly kind: 'link_required'; readonly linkToken: string; readonly email: string }
  | {
      readonly kind: 'refused'
      /** Why, for the log. */
      readonly message: string
      /** Why, for the page: the message `errors.federation_<reason>`. */
      readonly reason: 'session_ended' | 'linked_elsewhere' | 'cannot_sign_in' | 'no_email' | 'unusable_email' | 'completed_elsewhere'
    }

/** The upstream's tokens, sealed to this identity, when the connection keeps them. */
function sealedTokens(deps: IdentityDeps, connection: Connection, subject: string, tokens: Record<string, unknown>): string | null {
  if (!connection.storeTokens) return null
  const kept = Object.fromEntries(
    ['access_token', 'refresh_token', 'id_token', 'token_type', 'expires_in', 'scope']
      .filter((k) => tokens[k] !== undefined)
      .map((k) => [k, tokens[k]]),
  )
  return sealEnvelope(deps.upstreamKey, Buffer.from(JSON.stringify(kept), 'utf8'), `identity:${connection.id}:${subject}`)
}

async function link(
  deps: IdentityDeps,
  connection: Connection,
  subject: string,
  user: User,
  email: string | null,
  tokens: string | null,
  how: string,
  ip: string | undefined,
): Promise<boolean> {
  const now = deps.clock.now()
  const identity: FederatedIdentity & { tokens: string | null } = {
    id: randomId(),
    connectionId: connection.id,
    subject,
    userId: user.id,
    email,
    createdAt: now,
    lastUsedAt: now,
    tokens,
  }
  if (!(await deps.repos.federatedIdentities.insert(identity))) return false
  await deps.audit.record(
    'identity_linked',
    { userId: user.id, ip, detail: { connection: connection.id, how } },
    'upstream identity linked',
  )
  return true
}

export async function resolveFederatedIdentity(
  deps: IdentityDeps,
  connection: Connection,
  profile: UpstreamProfile,
  tokens: Record<string, unknown>,
  login: UpstreamLogin,
  ip: string | undefined,
): Promise<FederatedOutcome> {
  const sealed = sealedTokens(deps, connection, profile.subject, tokens)
  const identity = await deps.repos.federatedIdentities.findBySubject(connection.id, profile.subject)
  const now = deps.clock.now()

  if (login.linkUserId !== null) {
    const user = await deps.repos.users.findById(login.linkUserId)
    if (!user || user.disabledAt !== null)
      return { kind: 'refused', message: 'Your session ended. Sign in and try again.', reason: 'session_ended' }
    if (identity && identity.userId !== user.id)
      return {
        kind: 'refused',
        message: `This ${connection.name} account is already linked to another account.`,
        reason: 'linked_elsewhere',
      }
    if (!identity) await link(deps, connection, profile.subject, user, profile.email, sealed, 'account_page', ip)
    return { kind: 'linked', user }
  }

  if (identity) {
    const user = await deps.repos.users.findById(identity.userId)
    if (!user || user.disabledAt !== null) return { kind: 'refused', message: 'This account cannot sign in.', reason: 'cannot_sign_in' }
    await deps.repos.federatedIdentities.recordUse(identity.id, now, sealed)
    return { kind: 'sign_in', user, amr: profile.amr }
  }

  if (profile.email === null)
    return {
      kind: 'refused',
      message: `${connection.name} did not share your email address, which is needed to create your account.`,
      reason: 'no_email',
    }
  const email = normaliseEmail(profile.email)
  if (emailAddressProblem(profile.email) !== null)
    return { kind: 'refused', message: `${connection.name} shared an email address that cannot be used here.`, reason: 'unusable_email' }

  const pendingLink = async (): Promise<FederatedOutcome> => {
    const linkToken = randomToken()
    await deps.repos.upstreamLogins.insertPendingLink({
      idHash: hashSecret(linkToken),
      connectionId: connection.id,
      subject: profile.subject,
      email,
      tokens: sealed,
      amr: profile.amr,
      interactionId: login.interactionId,
      createdAt: now,
      expiresAt: now + PENDING_LINK_SECONDS,
    })
    return { kind: 'link_required', linkToken, email }
  }

  // Never linked by email alone: whatever the upstream says about the address.
  if (await deps.repos.users.findByEmail(email)) return pendingLink()

  const user: User = {
    id: randomId(),
    email,
    name: profile.name?.slice(0, MAX_NAME_LENGTH) ?? null,
    passwordHash: NO_PASSWORD,
    emailVerified: emailVerifiedHere(connection, profile),
    disabledAt: null,
    createdAt: now,
    roles: [],
    locale: null,
  }
  // Another request took the address meanwhile: the same as an existing account.
  if (!(await deps.repos.users.insertIfEmailFree(user))) return pendingLink()
  await deps.audit.record(
    'signup',
    { userId: user.id, ip, detail: { connection: connection.id } },
    'account created by a federated sign-in',
  )
  if (!(await link(deps, connection, profile.subject, user, email, sealed, 'just_in_time', ip)))
    return { kind: 'refused', message: 'This sign-in was completed elsewhere at the same time. Try again.', reason: 'completed_elsewhere' }
  return { kind: 'sign_in', user, amr: profile.amr }
}

/**
 * After the user proved control of `user` (a password or a passkey) in the flow that holds the
 * pending link: the upstream identity joins that account. False when it no longer can (the link
 * expired or was used, the connection is gone or disabled, or the upstream account was linked
 * meanwhile).
 */
export async function completePendingLink(deps: IdentityDeps, link_: PendingLink, user: User, ip: string | undefined): Promise<boolean> {
  if (!(await deps.repos.upstreamLogins.usePendingLink(link_.idHash, deps.clock.now()))) return false
  const connection = await deps.repos.connections.find(link_.connectionId)
  if (!connection || connection.disabledAt !== null) return false
  return link(deps, connection, link_.subject, user, link_.email, link_.tokens, 'proved_account', ip)
}

/** Why not, as a code the page says in its language (`message.unlink_<problem>`). */
export type UnlinkProblem = 'not_linked' | 'last_method'
export type UnlinkResult = { readonly ok: true } | { readonly ok: false; readonly problem: UnlinkProblem }

/** Unlinks one of the user's identities, unless it is their last way to sign in. */
export async function unlinkIdentity(deps: IdentityDeps, user: User, identityId: string, ip: string | undefined): Promise<UnlinkResult> {
  const identities = await deps.repos.federatedIdentities.listForUser(user.id)
  const identity = identities.find((candidate) => candidate.id === identityId)
  if (!identity) return { ok: false, problem: 'not_linked' }
  const passkeys = await deps.repos.passkeys.listForUser(user.id)
  if (!hasPassword(user) && passkeys.length === 0 && identities.length === 1) return { ok: false, problem: 'last_method' }
  await deps.repos.federatedIdentities.remove(user.id, identity.id)
  await deps.audit.record(
    'identity_unlinked',
    { userId: user.id, ip, detail: { connection: identity.connectionId } },
    'upstream identity unlinked',
  )
  return { ok: true }
}

/**
 * A password reset proved control of an address that was not verified here: identities linked
 * before that proof may belong to whoever created the account (pre-account hijacking), so they go.
 */
export async function forgetUnprovenIdentities(deps: Pick<Deps, 'repos' | 'audit'>, user: User): Promise<void> {
  if (user.emailVerified) return
  const removed = await deps.repos.federatedIdentities.removeAllForUser(user.id)
  for (const identity of removed)
    await deps.audit.record(
      'identity_unlinked',
      { userId: user.id, detail: { connection: identity.connectionId, reason: 'email_proven_by_reset' } },
      'upstream identity unlinked: the email address was proven by a password reset',
    )
}
