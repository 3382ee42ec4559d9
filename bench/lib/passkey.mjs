// Passkey sign-in for the benchmark: a software WebAuthn authenticator (ES256 keys from
// node:crypto, "none" attestation, the little CBOR it needs written here) that registers a passkey
// for the bench user through Tessera's account pages and then signs in with it, as the login
// page's script does: authorize → login page → POST /login/passkey/options → POST /login/passkey
// (the assertion, signed per request) → redirect to the application with a code.
//
// The authenticator does not count signatures (counter 0, allowed by WebAuthn L3 §6.1.1 for
// authenticators without a counter): Tessera refuses a counter that does not move forward, and
// records a use only if the stored counter is still the one it read (src/factors/passkeys.ts,
// recordUse), so a counting authenticator used by 50 connections at once has its concurrent
// sign-ins refused as a possible clone, whatever order they arrive in.
//
// A registered passkey is a second factor: the bench user's password logins would stop at the
// second-factor page. So the row registers its passkey at the start of each run and removes it
// at the end (signed in with the passkey: removal needs a recent sign-in), leaving the user as
// it found it; the key pair is made once and kept on the context.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { absorbCookies, codeFrom, cookieHeader, fetchWithJar, FORM, formField as field, header, pathOf, pkce } from './http.mjs'
import { measure, percentile } from './load.mjs'

const b64url = (bytes) => Buffer.from(bytes).toString('base64url')
const sha256 = (data) => createHash('sha256').update(data).digest()
const { challenge: CHALLENGE } = pkce()

// --- CBOR (RFC 8949), only what an attestation object and a COSE key need ------------------

function cborHead(major, length) {
  if (length < 24) return Buffer.from([(major << 5) | length])
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length])
  if (length < 0x10000) {
    const head = Buffer.alloc(3)
    head[0] = (major << 5) | 25
    head.writeUInt16BE(length, 1)
    return head
  }
  const head = Buffer.alloc(5)
  head[0] = (major << 5) | 26
  head.writeUInt32BE(length, 1)
  return head
}

/** Integers, text, byte strings and maps (keys in the order given: CTAP2 canonical order is the caller's). */
function cbor(value) {
  if (Number.isInteger(value)) return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value)
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8')
    return Buffer.concat([cborHead(3, bytes.length), bytes])
  }
  if (value instanceof Uint8Array) return Buffer.concat([cborHead(2, value.length), value])
  if (value instanceof Map) return Buffer.concat([cborHead(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])])
  throw new TypeError(`no CBOR encoding here for ${typeof value}`)
}

// --- The authenticator -----------------------------------------------------------------------

/** Flags: user present, user verified, (attested credential data); a device-bound key (no backup bits). */
const FLAGS_ASSERTION = 0x01 | 0x04
const FLAGS_ATTESTED = FLAGS_ASSERTION | 0x40

function authData(rpId, flags, counter, attested) {
  const count = Buffer.alloc(4)
  count.writeUInt32BE(counter)
  return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, ...(attested ? [attested] : [])])
}

const clientData = (type, challenge, origin) => Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }))

/** A new ES256 credential (not yet registered): id, key pair, COSE public key. */
export function newCredential() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  const cosePublicKey = cbor(
    new Map([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x, 'base64url')],
      [-3, Buffer.from(jwk.y, 'base64url')],
    ]),
  )
  return { id: b64url(randomBytes(16)), privateKey, cosePublicKey, userHandle: null, counter: 0, counting: false }
}

/** navigator.credentials.create() for `options` (PublicKeyCredentialCreationOptionsJSON), as the browser library posts it. */
function attest(credential, options, origin) {
  credential.userHandle = options.user.id
  const id = Buffer.from(credential.id, 'base64url')
  const idLength = Buffer.alloc(2)
  idLength.writeUInt16BE(id.length)
  // AAGUID zero (none attestation), credential id, COSE key.
  const attested = Buffer.concat([Buffer.alloc(16), idLength, id, credential.cosePublicKey])
  const rpId = options.rp.id ?? new URL(origin).hostname
  const attestationObject = cbor(
    new Map([
      ['fmt', 'none'],
      ['attStmt', new Map()],
      ['authData', authData(rpId, FLAGS_ATTESTED, credential.counter, attested)],
    ]),
  )
  return {
    id: credential.id,
    rawId: credential.id,
    type: 'public-key',
    response: {
      clientDataJSON: b64url(clientData('webauthn.create', options.challenge, origin)),
      attestationObject: b64url(attestationObject),
      transports: ['internal'],
    },
    clientExtensionResults: {},
    authenticatorAttachment: 'platform',
  }
}

/** navigator.credentials.get() for `options` (PublicKeyCredentialRequestOptionsJSON): an ES256 assertion, as JSON. */
export function assert(credential, options, origin) {
  if (credential.counting) credential.counter += 1
  const rpId = options.rpId ?? new URL(origin).hostname
  const authenticatorData = authData(rpId, FLAGS_ASSERTION, credential.counter)
  const clientDataJSON = clientData('webauthn.get', options.challenge, origin)
  const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), credential.privateKey)
  return {
    id: credential.id,
    rawId: credential.id,
    type: 'public-key',
    response: {
      clientDataJSON: b64url(clientDataJSON),
      authenticatorData: b64url(authenticatorData),
      signature: b64url(signature),
      userHandle: credential.userHandle,
    },
    clientExtensionResults: {},
    authenticatorAttachment: 'platform',
  }
}

// --- Account pages (fetch) -----------------------------------------------------------------

const jarOf = (cookie) => absorbCookies({}, (cookie ?? '').split(/;\s*/).filter(Boolean))

/** POSTs a form with the anti-forgery token of `page`, same-origin, with the session's cookies. */
async function postForm(issuer, jar, page, url, fields) {
  const html = await (await fetchWithJar(`${issuer}${page}`, jar)).text()
  const csrf = field(html, '_csrf')
  if (!csrf) throw new Error(`passkey: no anti-forgery token on ${page} (not signed in?)`)
  return fetchWithJar(`${issuer}${url}`, jar, {
    method: 'POST',
    headers: { origin: issuer, 'content-type': FORM },
    body: new URLSearchParams({ _csrf: csrf, ...fields }),
  })
}

/**
 * Registers a passkey for the signed-in user of `session` ({ cookie }: a sign-in at most 15
 * minutes old, as Tessera asks before a factor changes) through POST /account/passkeys/options
 * and POST /account/passkeys. `credential`: a key pair from newCredential() to register (a new
 * one by default). Returns the credential: { id, privateKey, userHandle, counter, … }.
 */
export async function registerPasskey(target, session, credential = newCredential()) {
  const jar = jarOf(session.cookie)
  const optionsResponse = await postForm(target.issuer, jar, '/account', '/account/passkeys/options', {})
  if (optionsResponse.status !== 200) throw new Error(`passkey: registration options HTTP ${optionsResponse.status}`)
  const options = await optionsResponse.json()
  const registered = await postForm(target.issuer, jar, '/account', '/account/passkeys', {
    name: 'bench passkey',
    credential: JSON.stringify(attest(credential, options, target.issuer)),
  })
  // The first factor answers with the recovery codes page (200), later ones with a redirect.
  const body = await registered.text()
  const ok = registered.status === 303 ? /notice=passkey-added/.test(registered.headers.get('location') ?? '') : registered.status === 200
  if (!ok)
    throw new Error(
      `passkey: registration refused (HTTP ${registered.status}${registered.status === 403 ? ': the session signed in more than 15 minutes ago' : ''}) ${body.slice(0, 200)}`,
    )
  return credential
}

/** One passkey sign-in with fetch (no application waiting): the new session's cookie. */
export async function passkeySignIn(target, credential) {
  const jar = {}
  const options = await (await postForm(target.issuer, jar, '/login', '/login/passkey/options', { purpose: 'login' })).json()
  const response = await postForm(target.issuer, jar, '/login', '/login/passkey', {
    interaction: '',
    credential: JSON.stringify(assert(credential, options, target.issuer)),
  })
  if (response.status !== 303) throw new Error(`passkey: sign-in refused (HTTP ${response.status})`)
  return { cookie: cookieHeader(jar) }
}

/** Removes the passkey (signed in with it just before: removal needs a recent sign-in). */
export async function removePasskey(target, credential) {
  const session = await passkeySignIn(target, credential)
  const response = await postForm(target.issuer, jarOf(session.cookie), '/account', '/account/passkeys/remove', { id: credential.id })
  if (response.status !== 303) throw new Error(`passkey: removal refused (HTTP ${response.status})`)
}

// --- The row ---------------------------------------------------------------------------------

/**
 * One complete passkey sign-in per cycle, each in a fresh cookie jar. `onSignIn(ok, ms)` is told
 * whether the cycle ended at the application with a code, and how long it took.
 */
export function passkeyLoginRequests(target, credential, { challenge = CHALLENGE, onSignIn = () => {} } = {}) {
  const { issuer } = target
  return [
    {
      method: 'GET',
      path: pathOf(target.authorizeUrl({ challenge })),
      setupRequest: (request, context) => {
        context.started = performance.now()
        context.jar = {}
        context.next = undefined
        context.form = undefined
        context.options = undefined
        return request
      },
      onResponse: (_status, _body, context, headers) => {
        absorbCookies(context.jar, header(headers, 'set-cookie'))
        context.next = header(headers, 'location')
      },
    },
    {
      method: 'GET',
      setupRequest: (request, context) => ({ ...request, path: context.next ?? '/login', headers: { cookie: cookieHeader(context.jar) } }),
      onResponse: (_status, body, context, headers) => {
        absorbCookies(context.jar, header(headers, 'set-cookie'))
        context.form = { _csrf: field(body, '_csrf') ?? '', interaction: field(body, 'interaction') ?? '' }
      },
    },
    {
      method: 'POST',
      path: '/login/passkey/options',
      setupRequest: (request, context) => ({
        ...request,
        headers: { cookie: cookieHeader(context.jar), origin: issuer, 'content-type': FORM },
        body: new URLSearchParams({ _csrf: context.form?._csrf ?? '', purpose: 'login' }).toString(),
      }),
      onResponse: (status, body, context, headers) => {
        absorbCookies(context.jar, header(headers, 'set-cookie'))
        try {
          context.options = status === 200 ? JSON.parse(body) : undefined
        } catch {
          context.options = undefined
        }
      },
    },
    {
      method: 'POST',
      path: '/login/passkey',
      setupRequest: (request, context) => {
        // Signed here, per request: the client's cost, not the server's.
        const options = context.options ?? { challenge: 'none', rpId: new URL(issuer).hostname }
        return {
          ...request,
          headers: { cookie: cookieHeader(context.jar), origin: issuer, 'content-type': FORM },
          body: new URLSearchParams({
            _csrf: context.form?._csrf ?? '',
            interaction: context.form?.interaction ?? '',
            credential: JSON.stringify(assert(credential, options, issuer)),
          }).toString(),
        }
      },
      onResponse: (_status, _body, context, headers) => {
        onSignIn(Boolean(codeFrom(header(headers, 'location'))), performance.now() - context.started)
      },
    },
  ]
}

const STEPS = 4

export const passkeyLoginRow = {
  key: 'passkey_login',
  label: 'Passkey sign-in (WebAuthn assertion)',
  tesseraOnly: true,
  steps: STEPS,
  /**
   * Complete sign-ins per second (autocannon request chains of four requests). Besides
   * measure()'s fields (p50/p99 per request), signInP50ms/signInP99ms per sign-in, and errors
   * counting every chain that did not end at the application with a code.
   */
  run: async (ctx, o) => {
    const { target } = ctx
    // The key pair is made once; the passkey is registered for this run (with a fresh password
    // sign-in: a factor change needs one at most 15 minutes old) and removed after it.
    ctx.passkey ??= { credential: newCredential(), registered: false }
    if (!ctx.passkey.registered) {
      const session = await target.passwordLogin({ challenge: CHALLENGE })
      await registerPasskey(target, session, ctx.passkey.credential)
      ctx.passkey.registered = true
    }
    try {
      const latencies = []
      let failed = 0
      let measuring = false
      const onSignIn = (ok, ms) => {
        if (!measuring) return
        if (ok) latencies.push(ms)
        else failed++
      }
      const requests = passkeyLoginRequests(target, ctx.passkey.credential, { onSignIn })
      if (o.warmup > 0) await measure(target.issuer, { requests, duration: o.warmup, warmup: 0, steps: STEPS })
      measuring = true
      const result = await measure(target.issuer, { requests, duration: o.duration, warmup: 0, steps: STEPS, cpu: o.cpu })
      measuring = false
      latencies.sort((a, b) => a - b)
      return {
        ...result,
        perSecond: Math.round(latencies.length / result.seconds),
        signIns: latencies.length,
        signInP50ms: percentile(latencies, 0.5),
        signInP99ms: percentile(latencies, 0.99),
        failedSignIns: failed,
        errors: result.errors + failed,
      }
    } finally {
      await removePasskey(target, ctx.passkey.credential)
      ctx.passkey.registered = false
    }
  },
}
