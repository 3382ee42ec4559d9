/**
 * Passkeys (WebAuthn Level 3) through @simplewebauthn/server: discoverable credentials with user
 * verification, the issuer's host as RP ID and its origin as the only origin, single-use
 * challenges kept in the database, signature counters and backup flags stored. A counter that
 * goes backwards (where the authenticator keeps one) means a cloned authenticator: refused and
 * audited.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server'
import type { AuthenticationMethod } from '../model/authentication.js'
import type { Passkey } from '../model/factors.js'
import type { User } from '../model/user.js'
import { mailFactorChange, relyingParty, type FactorContext } from './context.js'

/** How long a ceremony may take (WebAuthn's recommended range is 5–10 minutes for UV). */
const CEREMONY_SECONDS = 300
export const MAX_PASSKEY_NAME = 64

/** Why a passkey ceremony failed; the words on the page never say more than "it did not work". */
export type PasskeyFailure = 'malformed' | 'unknown_credential' | 'wrong_user' | 'verification_failed' | 'cloned' | 'already_registered'

export class PasskeyRejected extends Error {
  constructor(
    readonly reason: PasskeyFailure,
    readonly detail?: string,
  ) {
    super(`passkey refused: ${reason}${detail === undefined ? '' : ` (${detail})`}`)
    this.name = 'PasskeyRejected'
  }
}

const TRANSPORTS: readonly string[] = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']
const transportsOf = (passkey: Passkey): AuthenticatorTransportFuture[] =>
  passkey.transports.filter((t) => TRANSPORTS.includes(t)) as AuthenticatorTransportFuture[]

/** RFC 8176: a key bound to one authenticator is hwk, a synced one swk; user verification adds `user`. */
export const passkeyMethods = (passkey: Pick<Passkey, 'deviceType'>): AuthenticationMethod[] => [
  passkey.deviceType === 'singleDevice' ? 'hwk' : 'swk',
  'user',
]

/** Base64url members of a credential are strings, and not huge (a form field is 16 KiB at most). */
const isEncoded = (value: unknown): value is string => typeof value === 'string' && value.length <= 16384
const isOptionalEncoded = (value: unknown): boolean => value === undefined || value === null || isEncoded(value)

/**
 * Untrusted JSON from the browser, checked enough to hand to the library: every member the
 * library or this module decodes is a string (WebAuthn L3 §5.1 toJSON: base64url strings). A
 * forged `userHandle: 5` or `signature: {}` is malformed here, never a TypeError later.
 */
function parseCredential<T>(raw: string, members: readonly string[], optional: readonly string[] = []): T {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    throw new PasskeyRejected('malformed')
  }
  const candidate = value as { id?: unknown; rawId?: unknown; type?: unknown; response?: unknown }
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof candidate.id !== 'string' ||
    candidate.id.length > 1024 ||
    !isOptionalEncoded(candidate.rawId) ||
    candidate.type !== 'public-key' ||
    typeof candidate.response !== 'object' ||
    candidate.response === null
  ) {
    throw new PasskeyRejected('malformed')
  }
  const response = candidate.response as Record<string, unknown>
  if (!members.every((member) => isEncoded(response[member])) || !optional.every((member) => isOptionalEncoded(response[member])))
    throw new PasskeyRejected('malformed')
  return value as T
}

/** The response of navigator.credentials.create(); `transports`, if any, a short list of strings (stored as such). */
function parseRegistration(raw: string): RegistrationResponseJSON {
  const credential = parseCredential<RegistrationResponseJSON>(raw, ['clientDataJSON', 'attestationObject'])
  const transports: unknown = credential.response.transports
  if (
    transports !== undefined &&
    (!Array.isArray(transports) || transports.length > 16 || !transports.every((t) => typeof t === 'string' && t.length <= 32))
  )
    throw new PasskeyRejected('malformed')
  return credential
}

/** The response of navigator.credentials.get(); `userHandle` is absent for a non-discoverable credential. */
const parseAssertion = (raw: string): AuthenticationResponseJSON =>
  parseCredential<AuthenticationResponseJSON>(raw, ['clientDataJSON', 'authenticatorData', 'signature'], ['userHandle'])

export async function registrationOptions(context: FactorContext, user: User): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const rp = relyingParty(context)
  const existing = await context.repos.passkeys.listForUser(user.id)
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.email,
    userDisplayName: user.name ?? user.email,
    userID: new TextEncoder().encode(user.id),
    attestationType: 'none',
    excludeCredentials: existing.map((passkey) => ({ id: passkey.id, transports: transportsOf(passkey) })),
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    timeout: CEREMONY_SECONDS * 1000,
  })
  await context.repos.webauthnChallenges.insert(options.challenge, 'register', user.id, context.clock.now(), CEREMONY_SECONDS)
  return options
}

/** Verifies a new passkey and stores it; throws PasskeyRejected. */
export async function completeRegistration(context: FactorContext, user: User, rawCredential: string, name: string): Promise<Passkey> {
  const response = parseRegistration(rawCredential)
  const rp = relyingParty(context)
  const now = context.clock.now()
  let verification
  try {
    verification = await verifyRegistrationResponse({
      response,
      expectedChallenge: (challenge) => context.repos.webauthnChallenges.consume(challenge, 'register', user.id, now),
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
    })
  } catch (error) {
    throw new PasskeyRejected('verification_failed', error instanceof Error ? error.message : String(error))
  }
  if (!verification.verified) throw new PasskeyRejected('verification_failed')
  const info = verification.registrationInfo
  if (await context.repos.passkeys.find(info.credential.id)) throw new PasskeyRejected('already_registered')
  const passkey: Passkey = {
    id: info.credential.id,
    userId: user.id,
    name: name.trim().slice(0, MAX_PASSKEY_NAME) || `Passkey added ${new Date(now * 1000).toISOString().slice(0, 10)}`,
    publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
    counter: info.credential.counter,
    transports: info.credential.transports ?? [],
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
    aaguid: info.aaguid,
    createdAt: now,
    lastUsedAt: null,
  }
  await context.repos.passkeys.insert(passkey)
  await context.audit.record(
    'factor_added',
    { userId: user.id, detail: { factor: 'passkey', deviceType: passkey.deviceType, backedUp: passkey.backedUp } },
    'passkey added',
  )
  await mailFactorChange(context, user, 'passkey_added')
  return passkey
}

/**
 * Options for signing in with a passkey. Without a user (passwordless) the credential list is
 * empty: the authenticator offers the user's discoverable credentials. With one (a second
 * factor) only that user's passkeys are allowed.
 */
export async function authenticationOptions(context: FactorContext, userId: string | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const rp = relyingParty(context)
  const allowed = userId === null ? [] : await context.repos.passkeys.listForUser(userId)
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    userVerification: 'required',
    allowCredentials: allowed.map((passkey) => ({ id: passkey.id, transports: transportsOf(passkey) })),
    timeout: CEREMONY_SECONDS * 1000,
  })
  await context.repos.webauthnChallenges.insert(options.challenge, 'authenticate', userId, context.clock.now(), CEREMONY_SECONDS)
  return options
}

/** Verifies a passkey assertion (for `expectedUserId`, or anyone's discoverable passkey); throws PasskeyRejected. */
export async function verifyPasskey(
  context: FactorContext,
  rawCredential: string,
  expectedUserId: string | null,
): Promise<{ passkey: Passkey; methods: AuthenticationMethod[] }> {
  const response = parseAssertion(rawCredential)
  const passkey = await context.repos.passkeys.find(response.id)
  if (!passkey) throw new PasskeyRejected('unknown_credential')
  if (expectedUserId !== null && passkey.userId !== expectedUserId) throw new PasskeyRejected('wrong_user')
  const handle = response.response.userHandle
  if (handle !== undefined && handle !== null && Buffer.from(handle, 'base64url').toString('utf8') !== passkey.userId)
    throw new PasskeyRejected('wrong_user', 'user handle')
  const rp = relyingParty(context)
  const now = context.clock.now()
  let verification
  try {
    verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: (challenge) => context.repos.webauthnChallenges.consume(challenge, 'authenticate', expectedUserId, now),
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: {
        id: passkey.id,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
        counter: passkey.counter,
        transports: transportsOf(passkey),
      },
      requireUserVerification: true,
    })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    // The library refuses a counter that did not increase (when either side keeps one).
    if (/counter/i.test(message)) await clonedAuthenticator(context, passkey, message)
    throw new PasskeyRejected('verification_failed', message)
  }
  if (!verification.verified || !verification.authenticationInfo.userVerified) throw new PasskeyRejected('verification_failed')
  const info = verification.authenticationInfo
  if (!(await context.repos.passkeys.recordUse(passkey.id, passkey.counter, info.newCounter, info.credentialBackedUp, now))) {
    // Another sign-in with this credential moved the counter between our read and our write: two
    // authenticators answering at once with one counter value is what a clone looks like too.
    await clonedAuthenticator(context, passkey, 'counter changed concurrently')
  }
  return { passkey, methods: passkeyMethods(passkey) }
}

/** WebAuthn L3 §6.1.1: a signature counter that did not move forward may mean a cloned authenticator. Audited, then refused. */
async function clonedAuthenticator(context: FactorContext, passkey: Passkey, why: string): Promise<never> {
  await context.audit.record(
    'cloned_authenticator',
    { userId: passkey.userId, detail: { credential: passkey.id.slice(0, 16) } },
    'passkey signature counter went backwards: possible cloned authenticator',
  )
  throw new PasskeyRejected('cloned', why)
}

export async function removePasskey(context: FactorContext, user: User, id: string): Promise<boolean> {
  const removed = await context.repos.passkeys.remove(user.id, id)
  if (!removed) return false
  await context.audit.record('factor_removed', { userId: user.id, detail: { factor: 'passkey' } }, 'passkey removed')
  await mailFactorChange(context, user, 'passkey_removed')
  return true
}
