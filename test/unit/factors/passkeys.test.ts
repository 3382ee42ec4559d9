/**
 * The WebAuthn ceremonies (factors/passkeys.ts) against @simplewebauthn/server, driven by the
 * software authenticator the HTTP tests use (test/helpers/soft-authenticator.ts: real ES256
 * signatures, "none" attestation), with storage as plain in-memory stand-ins and a fixed clock:
 * what is accepted, and each way a response is refused — another challenge, origin or RP ID, no
 * user verification, a replayed or expired challenge, a counter going backwards (audited as a
 * possible clone), a user handle or credential of someone else, members that are not strings.
 */
import t from 'tap'
import type { FactorContext } from '../../../src/factors/context.js'
import {
  authenticationOptions,
  completeRegistration,
  PasskeyRejected,
  passkeyMethods,
  registrationOptions,
  verifyPasskey,
  type PasskeyFailure,
} from '../../../src/factors/passkeys.js'
import type { Passkey } from '../../../src/model/factors.js'
import type { User } from '../../../src/model/user.js'
import { SoftAuthenticator, type Misbehaviour } from '../../helpers/soft-authenticator.js'

const ISSUER = 'https://idp.example'
const ORIGIN = 'https://idp.example'
const NOW = 1_800_000_000

interface Stub {
  readonly context: FactorContext
  readonly passkeys: Map<string, Passkey>
  readonly events: { type: string; fields: { userId?: string | null; detail?: Record<string, unknown> } }[]
  readonly mails: unknown[]
  readonly clock: { value: number }
  /** Make the next compare-and-set of a counter lose (another sign-in moved it first). */
  loseNextCounterUpdate: boolean
}

function stub(): Stub {
  const passkeys = new Map<string, Passkey>()
  const challenges = new Map<string, { purpose: string; userId: string | null; expiresAt: number; used: boolean }>()
  const clock = { value: NOW }
  const state: Stub = {
    passkeys,
    events: [],
    mails: [],
    clock,
    loseNextCounterUpdate: false,
    context: undefined as unknown as FactorContext,
  }
  const repos = {
    passkeys: {
      insert: async (passkey: Passkey) => void passkeys.set(passkey.id, passkey),
      find: async (id: string) => passkeys.get(id),
      listForUser: async (userId: string) => [...passkeys.values()].filter((passkey) => passkey.userId === userId),
      recordUse: async (id: string, previous: number, counter: number, backedUp: boolean, now: number) => {
        const passkey = passkeys.get(id)
        if (!passkey || passkey.counter !== previous || state.loseNextCounterUpdate) {
          state.loseNextCounterUpdate = false
          return false
        }
        passkeys.set(id, { ...passkey, counter, backedUp, lastUsedAt: now })
        return true
      },
    },
    webauthnChallenges: {
      insert: async (challenge: string, purpose: string, userId: string | null, now: number, ttl: number) =>
        void challenges.set(challenge, { purpose, userId, expiresAt: now + ttl, used: false }),
      consume: async (challenge: string, purpose: string, userId: string | null, now: number) => {
        const entry = challenges.get(challenge)
        if (!entry || entry.used || entry.purpose !== purpose || entry.userId !== userId || entry.expiresAt <= now) return false
        entry.used = true
        return true
      },
    },
  }
  ;(state as { context: FactorContext }).context = {
    config: { issuer: ISSUER },
    repos,
    clock: { now: () => clock.value },
    audit: { record: async (type: string, fields: Stub['events'][number]['fields']) => void state.events.push({ type, fields }) },
    mail: { enqueue: async (mail: unknown) => void state.mails.push(mail) },
    factorKey: Buffer.alloc(32),
  } as unknown as FactorContext
  return state
}

const alice = { id: 'user-alice', email: 'alice@example.com', name: 'Alice' } as User
const bob = { id: 'user-bob', email: 'bob@example.com', name: null } as User

type CreationOptions = Parameters<SoftAuthenticator['register']>[0]
type RequestOptions = Parameters<SoftAuthenticator['authenticate']>[0]

async function register(s: Stub, authenticator: SoftAuthenticator, user = alice, misbehave: Misbehaviour = {}) {
  const options = await registrationOptions(s.context, user)
  return completeRegistration(s.context, user, JSON.stringify(authenticator.register(options as CreationOptions, misbehave)), 'Laptop')
}

/** An assertion for a fresh challenge (passwordless: userId null), as JSON. */
async function assertion(s: Stub, authenticator: SoftAuthenticator, userId: string | null = null, misbehave: Misbehaviour = {}) {
  const options = await authenticationOptions(s.context, userId)
  return authenticator.authenticate(options as RequestOptions, misbehave) as { id: string; response: Record<string, unknown> }
}

async function refusal(promise: Promise<unknown>): Promise<PasskeyFailure | 'accepted'> {
  try {
    await promise
    return 'accepted'
  } catch (error) {
    if (error instanceof PasskeyRejected) return error.reason
    throw error
  }
}

t.test('passkeyMethods: hwk for a device-bound key, swk for a synced one, each with user (RFC 8176)', async (t) => {
  t.same(passkeyMethods({ deviceType: 'singleDevice' }), ['hwk', 'user'])
  t.same(passkeyMethods({ deviceType: 'multiDevice' }), ['swk', 'user'])
})

t.test('registration, then passwordless and second-factor assertions, are accepted', async (t) => {
  const s = stub()
  const authenticator = new SoftAuthenticator(ORIGIN, { counting: true })
  const options = await registrationOptions(s.context, alice)
  t.equal(options.rp.id, 'idp.example', 'the RP ID is the issuer’s host')
  t.match(options.authenticatorSelection, { residentKey: 'required', userVerification: 'required' })
  const passkey = await completeRegistration(
    s.context,
    alice,
    JSON.stringify(authenticator.register(options as CreationOptions)),
    ' Laptop ',
  )
  t.match(passkey, { userId: alice.id, name: 'Laptop', deviceType: 'singleDevice', backedUp: false, counter: 1, transports: ['internal'] })
  t.match(s.events, [{ type: 'factor_added', fields: { userId: alice.id } }], 'audited')
  t.equal(s.mails.length, 1, 'the owner is told')

  const passwordless = await verifyPasskey(s.context, JSON.stringify(await assertion(s, authenticator)), null)
  t.same(passwordless.methods, ['hwk', 'user'])
  t.equal(s.passkeys.get(passkey.id)!.counter, 2, 'the new counter is stored')
  t.equal(s.passkeys.get(passkey.id)!.lastUsedAt, NOW)
  const second = await verifyPasskey(s.context, JSON.stringify(await assertion(s, authenticator, alice.id)), alice.id)
  t.equal(second.passkey.id, passkey.id, 'as the second factor of its own user')

  const synced = new SoftAuthenticator(ORIGIN, { synced: true })
  const syncedKey = await register(s, synced, bob)
  t.match(syncedKey, { deviceType: 'multiDevice', backedUp: true })
  t.same((await verifyPasskey(s.context, JSON.stringify(await assertion(s, synced)), null)).methods, ['swk', 'user'])
})

t.test('registration: another challenge, origin or RP ID, or no user verification, is refused', async (t) => {
  const cases: [string, Misbehaviour][] = [
    ['a challenge Tessera never issued', { challenge: 'bm90LWEtY2hhbGxlbmdl' }],
    ['another origin', { origin: 'https://evil.example' }],
    ['another RP ID', { rpId: 'evil.example' }],
    ['no user verification', { userVerified: false }],
  ]
  for (const [what, misbehave] of cases) {
    const s = stub()
    t.equal(await refusal(register(s, new SoftAuthenticator(ORIGIN), alice, misbehave)), 'verification_failed', what)
    t.equal(s.passkeys.size, 0, `${what}: nothing stored`)
  }
  const s = stub()
  const options = await registrationOptions(s.context, alice)
  const response = JSON.stringify(new SoftAuthenticator(ORIGIN).register(options as CreationOptions))
  t.equal(await refusal(completeRegistration(s.context, bob, response, '')), 'verification_failed', 'a challenge issued to another user')
  s.clock.value += 301
  t.equal(await refusal(completeRegistration(s.context, alice, response, '')), 'verification_failed', 'an expired challenge')
})

t.test('assertion: another challenge, origin or RP ID, no user verification, a replay, an expired challenge', async (t) => {
  const s = stub()
  const authenticator = new SoftAuthenticator(ORIGIN)
  await register(s, authenticator)
  const cases: [string, Misbehaviour][] = [
    ['a challenge Tessera never issued', { challenge: 'bm90LWEtY2hhbGxlbmdl' }],
    ['another origin', { origin: 'https://evil.example' }],
    ['another RP ID', { rpId: 'evil.example' }],
    ['no user verification', { userVerified: false }],
  ]
  for (const [what, misbehave] of cases)
    t.equal(
      await refusal(verifyPasskey(s.context, JSON.stringify(await assertion(s, authenticator, null, misbehave)), null)),
      'verification_failed',
      what,
    )

  const once = JSON.stringify(await assertion(s, authenticator))
  t.equal(await refusal(verifyPasskey(s.context, once, null)), 'accepted', 'the first use')
  t.equal(await refusal(verifyPasskey(s.context, once, null)), 'verification_failed', 'the same response again: its challenge is used up')

  const forAlice = JSON.stringify(await assertion(s, authenticator, alice.id))
  t.equal(
    await refusal(verifyPasskey(s.context, forAlice, null)),
    'verification_failed',
    'a challenge for a second factor does not serve a passwordless sign-in',
  )
  const late = JSON.stringify(await assertion(s, authenticator))
  s.clock.value += 301
  t.equal(await refusal(verifyPasskey(s.context, late, null)), 'verification_failed', 'a challenge older than five minutes')
})

t.test('a counter that goes backwards is refused and audited as a possible clone (WebAuthn L3 §6.1.1)', async (t) => {
  const s = stub()
  const authenticator = new SoftAuthenticator(ORIGIN, { counting: true })
  const passkey = await register(s, authenticator)
  t.equal(await refusal(verifyPasskey(s.context, JSON.stringify(await assertion(s, authenticator)), null)), 'accepted')
  t.equal(s.passkeys.get(passkey.id)!.counter, 2)

  const clone = JSON.stringify(await assertion(s, authenticator, null, { counter: 1 }))
  t.equal(await refusal(verifyPasskey(s.context, clone, null)), 'cloned', 'a lower counter')
  const same = JSON.stringify(await assertion(s, authenticator, null, { counter: 2 }))
  t.equal(await refusal(verifyPasskey(s.context, same, null)), 'cloned', 'the same counter again')
  const clones = s.events.filter((event) => event.type === 'cloned_authenticator')
  t.equal(clones.length, 2, 'each audited')
  t.match(clones[0], { fields: { userId: alice.id, detail: { credential: passkey.id.slice(0, 16) } } })
  t.equal(s.passkeys.get(passkey.id)!.counter, 2, 'the stored counter did not move')

  // Two sign-ins read counter 2; the other one's write lands first.
  s.loseNextCounterUpdate = true
  t.equal(await refusal(verifyPasskey(s.context, JSON.stringify(await assertion(s, authenticator)), null)), 'cloned', 'a concurrent use')
  t.equal(s.events.filter((event) => event.type === 'cloned_authenticator').length, 3, 'audited too')

  const counterless = new SoftAuthenticator(ORIGIN)
  await register(s, counterless, bob)
  for (let i = 0; i < 2; i++)
    t.equal(
      await refusal(verifyPasskey(s.context, JSON.stringify(await assertion(s, counterless)), null)),
      'accepted',
      'an authenticator without a counter (always 0) is not a clone',
    )
})

t.test('someone else’s passkey or user handle is refused', async (t) => {
  const s = stub()
  const authenticator = new SoftAuthenticator(ORIGIN)
  await register(s, authenticator)
  const forBob = JSON.stringify(await assertion(s, authenticator, bob.id))
  t.equal(await refusal(verifyPasskey(s.context, forBob, bob.id)), 'wrong_user', 'Alice’s passkey as Bob’s second factor')

  const response = await assertion(s, authenticator)
  const otherHandle = { ...response, response: { ...response.response, userHandle: Buffer.from(bob.id).toString('base64url') } }
  t.equal(await refusal(verifyPasskey(s.context, JSON.stringify(otherHandle), null)), 'wrong_user', 'a user handle naming Bob')
  const withoutHandle = { ...response, response: { ...response.response, userHandle: undefined } }
  t.equal(
    await refusal(verifyPasskey(s.context, JSON.stringify(withoutHandle), null)),
    'accepted',
    'no user handle: the credential decides',
  )

  t.equal(await refusal(verifyPasskey(s.context, JSON.stringify({ ...response, id: 'AAAA', rawId: 'AAAA' }), null)), 'unknown_credential')
})

t.test('members that are not strings are malformed, never a TypeError', async (t) => {
  const s = stub()
  const authenticator = new SoftAuthenticator(ORIGIN)
  await register(s, authenticator)
  const response = await assertion(s, authenticator)
  const forged = (members: Record<string, unknown>) => JSON.stringify({ ...response, response: { ...response.response, ...members } })
  for (const [what, raw] of [
    ['userHandle 5', forged({ userHandle: 5 })],
    ['userHandle {}', forged({ userHandle: {} })],
    ['userHandle true', forged({ userHandle: true })],
    ['userHandle too long', forged({ userHandle: 'A'.repeat(20000) })],
    ['clientDataJSON 5', forged({ clientDataJSON: 5 })],
    ['authenticatorData {}', forged({ authenticatorData: {} })],
    ['signature true', forged({ signature: true })],
    ['signature missing', forged({ signature: undefined })],
    ['rawId 7', JSON.stringify({ ...response, rawId: 7 })],
    ['response null', JSON.stringify({ ...response, response: null })],
    ['an array', '[]'],
  ] as const)
    t.equal(await refusal(verifyPasskey(s.context, raw, null)), 'malformed', what)

  const options = await registrationOptions(s.context, alice)
  const registration = new SoftAuthenticator(ORIGIN).register(options as CreationOptions) as { response: Record<string, unknown> }
  const forgedRegistration = (members: Record<string, unknown>) =>
    JSON.stringify({ ...registration, response: { ...registration.response, ...members } })
  for (const [what, raw] of [
    ['attestationObject 5', forgedRegistration({ attestationObject: 5 })],
    ['clientDataJSON []', forgedRegistration({ clientDataJSON: [] })],
    ['transports "usb"', forgedRegistration({ transports: 'usb' })],
    ['transports [1]', forgedRegistration({ transports: [1] })],
  ] as const)
    t.equal(await refusal(completeRegistration(s.context, alice, raw, '')), 'malformed', `registration: ${what}`)
})
