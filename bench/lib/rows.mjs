// The benchmark rows, written once against the target interface (Tessera or oidc-provider): each
// row prepares what it needs through real HTTP flows, then drives one endpoint with autocannon.
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { codeFrom, FORM, header, pathOf, pkce } from './http.mjs'
import { measure, percentile } from './load.mjs'
import { passkeyLoginRow } from './passkey.mjs'

const { verifier: VERIFIER, challenge: CHALLENGE } = pkce()
// Tokens in flight when a run ends are lost (rotated, answer dropped): room for two runs of losses.
const REFRESH_POOL = 200

const basic = ({ clientId, clientSecret }) =>
  `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`

/** Everything the rows share for one target: discovery, a logged-in session, a user access token. */
export async function prepare(target) {
  const discovery = await (await fetch(`${target.issuer}/.well-known/openid-configuration`)).json()
  const session = await target.passwordLogin({ challenge: CHALLENGE })
  const ctx = { target, discovery, session }
  // Access tokens live 10 minutes and the run is longer: rows that present one get a fresh one.
  ctx.renewTokens = async () => {
    const [code] = await mintCodes(ctx, 1)
    ctx.tokens = await exchange(target, discovery, code)
    // oidc-provider accepts only opaque tokens at userinfo and introspection (its JWT access
    // tokens are for resource servers); Tessera's one JWT access token works at both.
    const opaqueToken = target.userinfoToken ? await target.userinfoToken() : null
    ctx.userinfoToken = opaqueToken ?? ctx.tokens.access_token
  }
  await ctx.renewTokens()
  return ctx
}

async function exchange(target, discovery, code) {
  const response = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': FORM },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: target.web.redirectUri,
      client_id: target.web.clientId,
      code_verifier: VERIFIER,
      ...target.tokenParams,
    }),
  })
  const body = await response.json()
  if (!response.ok || !body.access_token) throw new Error(`${target.name}: code exchange failed: ${JSON.stringify(body)}`)
  return body
}

const tokenPath = (ctx) => pathOf(ctx.discovery.token_endpoint)

/** Authorization codes minted through the SSO session (authorize with the session cookie, no password). */
async function mintCodes(ctx, count) {
  const codes = []
  await measure(ctx.target.issuer, {
    warmup: 0,
    amount: count,
    requests: [
      {
        method: 'GET',
        path: pathOf(ctx.target.authorizeUrl({ challenge: CHALLENGE })),
        headers: { cookie: ctx.session.cookie },
        onResponse: (_s, _b, _c, headers) => {
          const code = codeFrom(header(headers, 'location'))
          if (code) codes.push(code)
        },
      },
    ],
  })
  return codes
}

const codeExchangeBody = ({ target }, code) =>
  new URLSearchParams({
    grant_type: 'authorization_code',
    code: code ?? 'none-left',
    redirect_uri: target.web.redirectUri,
    client_id: target.web.clientId,
    code_verifier: VERIFIER,
    ...target.tokenParams,
  }).toString()

function codeExchangeRequest(ctx, next) {
  return {
    method: 'POST',
    path: tokenPath(ctx),
    headers: { 'content-type': FORM },
    setupRequest: (request) => ({ ...request, body: codeExchangeBody(ctx, next()) }),
  }
}

const clientCredentialsRequest = (ctx) => ({
  method: 'POST',
  path: tokenPath(ctx),
  headers: { authorization: basic(ctx.target.service), 'content-type': FORM },
  body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api:read', ...ctx.target.tokenParams }).toString(),
})

/**
 * A DPoP proof (RFC 9449) per request, signed synchronously here (ES256): what a client pays is
 * not measured, what Tessera pays to verify the proof and remember its jti is.
 */
function dpopProver(url) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' })
  const header = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })).toString('base64url')
  return () => {
    const payload = Buffer.from(JSON.stringify({ jti: randomUUID(), htm: 'POST', htu: url, iat: Math.floor(Date.now() / 1000) })).toString(
      'base64url',
    )
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString(
      'base64url',
    )
    return `${header}.${payload}.${signature}`
  }
}

const dpopClientCredentialsRequest = (ctx) => {
  const prove = dpopProver(ctx.discovery.token_endpoint)
  const request = clientCredentialsRequest(ctx)
  return { ...request, setupRequest: (r) => ({ ...r, headers: { ...r.headers, dpop: prove() } }) }
}

const parRequest = (ctx) => ({
  method: 'POST',
  path: pathOf(ctx.discovery.pushed_authorization_request_endpoint ?? `${ctx.target.issuer}/par`),
  headers: { 'content-type': FORM },
  body: new URLSearchParams({
    response_type: 'code',
    client_id: ctx.target.web.clientId,
    redirect_uri: ctx.target.web.redirectUri,
    scope: 'openid',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
  }).toString(),
})

/** A user's access token for the photos API (RFC 8707), through the SSO session: the subject of the exchange row. */
async function photosToken(ctx) {
  const app = ctx.target.extra.photosApp
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: app.clientId,
    redirect_uri: app.redirectUri,
    scope: 'openid photos:read',
    resource: app.resource,
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    state: 'bench',
  })
  const authorized = await fetch(`${ctx.target.issuer}/authorize?${query}`, { headers: { cookie: ctx.session.cookie }, redirect: 'manual' })
  const code = codeFrom(authorized.headers.get('location'))
  const response = await fetch(ctx.discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': FORM },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: app.redirectUri,
      client_id: app.clientId,
      code_verifier: VERIFIER,
      resource: app.resource,
    }),
  })
  const body = await response.json()
  if (!response.ok) throw new Error(`photos token: ${JSON.stringify(body)}`)
  return body.access_token
}

const tokenExchangeRequest = (ctx, subjectToken) => ({
  method: 'POST',
  path: tokenPath(ctx),
  headers: { authorization: basic(ctx.target.extra.exchanger), 'content-type': FORM },
  body: new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: subjectToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    resource: ctx.target.extra.exchanger.target,
  }).toString(),
})

const deviceAuthorizationRequest = (ctx) => ({
  method: 'POST',
  path: pathOf(ctx.discovery.device_authorization_endpoint),
  headers: { 'content-type': FORM },
  body: new URLSearchParams({ client_id: ctx.target.extra.device.clientId, scope: 'openid' }).toString(),
})

const userinfoRequest = (ctx) => ({
  method: 'GET',
  path: pathOf(ctx.discovery.userinfo_endpoint),
  headers: { authorization: `Bearer ${ctx.userinfoToken}` },
})

const introspectionRequest = (ctx) => ({
  method: 'POST',
  path: pathOf(ctx.discovery.introspection_endpoint),
  headers: { authorization: basic(ctx.target.service), 'content-type': FORM },
  body: new URLSearchParams({ token: ctx.userinfoToken }).toString(),
})

/** A row whose request carries an access token: a fresh one for every run (they live 10 minutes). */
const presentingAccessToken = (request) => ({
  run: async (ctx, o) => {
    await ctx.renewTokens()
    return measure(ctx.target.issuer, { ...o, requests: [request(ctx)] })
  },
  openLoop: async (ctx) => {
    await ctx.renewTokens()
    return { requests: [request(ctx)] }
  },
})

export const ROWS = [
  {
    key: 'jwks',
    label: 'JWKS',
    run: (ctx, o) => measure(ctx.target.issuer, { ...o, requests: [{ method: 'GET', path: pathOf(ctx.discovery.jwks_uri) }] }),
    openLoop: (ctx) => ({ requests: [{ method: 'GET', path: pathOf(ctx.discovery.jwks_uri) }] }),
  },
  {
    key: 'discovery',
    label: 'Discovery',
    run: (ctx, o) => measure(ctx.target.issuer, { ...o, requests: [{ method: 'GET', path: '/.well-known/openid-configuration' }] }),
    openLoop: () => ({ requests: [{ method: 'GET', path: '/.well-known/openid-configuration' }] }),
  },
  {
    key: 'client_credentials',
    label: '`client_credentials` token',
    // RS256 signatures per request: the rows judged against the signing ceiling.
    signatures: 1,
    run: (ctx, o) => measure(ctx.target.issuer, { ...o, requests: [clientCredentialsRequest(ctx)] }),
    openLoop: (ctx) => ({ requests: [clientCredentialsRequest(ctx)] }),
  },
  {
    // What sender-constrained tokens cost next to the row above (Tessera only: the comparison is with itself).
    key: 'client_credentials_dpop',
    label: '`client_credentials` token with a DPoP proof',
    tesseraOnly: true,
    run: (ctx, o) => measure(ctx.target.issuer, { ...o, requests: [dpopClientCredentialsRequest(ctx)] }),
  },
  {
    key: 'par',
    label: 'Pushed authorization request (`/par`)',
    tesseraOnly: true,
    run: (ctx, o) => measure(ctx.target.issuer, { ...o, requests: [parRequest(ctx)] }),
  },
  {
    key: 'token_exchange',
    label: 'Token exchange (RFC 8693) for another API',
    tesseraOnly: true,
    run: async (ctx, o) => measure(ctx.target.issuer, { ...o, requests: [tokenExchangeRequest(ctx, await photosToken(ctx))] }),
  },
  {
    key: 'device_authorization',
    label: 'Device authorization request (RFC 8628)',
    tesseraOnly: true,
    run: (ctx, o) => measure(ctx.target.issuer, { ...o, requests: [deviceAuthorizationRequest(ctx)] }),
  },
  {
    key: 'code',
    label: 'Authorization-code exchange (PKCE)',
    signatures: 2,
    run: async (ctx, o) => {
      // Codes live 60 s: minted right before they are redeemed, all of them used once.
      const codes = await mintCodes(ctx, o.codes)
      const warm = codes.splice(0, Math.floor(codes.length / 6))
      await measure(ctx.target.issuer, { warmup: 0, amount: warm.length, requests: [codeExchangeRequest(ctx, () => warm.pop())] })
      return {
        ...(await measure(ctx.target.issuer, {
          warmup: 0,
          amount: codes.length,
          cpu: o.cpu,
          requests: [codeExchangeRequest(ctx, () => codes.pop())],
        })),
        prepared: codes.length + warm.length,
      }
    },
    openLoop: async (ctx, { rate, seconds }) => {
      const codes = await mintCodes(ctx, Math.round(rate * seconds))
      const { method, path, headers } = codeExchangeRequest(ctx, () => undefined)
      return { requests: [{ method, path, headers }], bodies: codes.map((code) => codeExchangeBody(ctx, code)) }
    },
  },
  {
    key: 'refresh',
    label: 'Refresh grant with rotation',
    signatures: 2,
    run: async (ctx, o) => {
      // One family per slot; each answer's new refresh token goes back into the pool.
      const pool = []
      for (const code of await mintCodes(ctx, REFRESH_POOL)) pool.push((await exchange(ctx.target, ctx.discovery, code)).refresh_token)
      if (pool.length < REFRESH_POOL || pool.some((token) => !token)) throw new Error(`${ctx.target.name}: no refresh tokens issued`)
      return measure(ctx.target.issuer, {
        ...o,
        requests: [
          {
            method: 'POST',
            path: tokenPath(ctx),
            headers: { 'content-type': FORM },
            setupRequest: (request) => ({
              ...request,
              body: new URLSearchParams({
                grant_type: 'refresh_token',
                refresh_token: pool.shift() ?? 'none-left',
                client_id: ctx.target.web.clientId,
                ...ctx.target.tokenParams,
              }).toString(),
            }),
            onResponse: (status, body) => {
              if (status === 200) pool.push(JSON.parse(body).refresh_token)
            },
          },
        ],
      })
    },
  },
  { key: 'userinfo', label: 'Userinfo', ...presentingAccessToken(userinfoRequest) },
  { key: 'introspection', label: 'Introspection (active access token)', ...presentingAccessToken(introspectionRequest) },
  {
    key: 'sso',
    label: 'SSO round trip (authorize → code → token)',
    steps: 2,
    run: (ctx, o) =>
      measure(ctx.target.issuer, {
        ...o,
        steps: 2,
        requests: [
          {
            method: 'GET',
            path: pathOf(ctx.target.authorizeUrl({ challenge: CHALLENGE })),
            headers: { cookie: ctx.session.cookie },
            onResponse: (_s, _b, context, headers) => {
              context.code = codeFrom(header(headers, 'location'))
            },
          },
          {
            ...codeExchangeRequest(ctx, () => undefined),
            setupRequest: (request, context) => codeExchangeRequest(ctx, () => context.code).setupRequest(request),
          },
        ],
      }),
  },
  // Last: it registers a passkey for the bench user, signs in with it, and removes it again.
  passkeyLoginRow,
]

/**
 * Password logins at full speed (argon2id-bound) and, once they have run for `warmup` seconds,
 * JWKS at a fixed moderate rate beside them: hashing must not hold up the event loop, so JWKS
 * latency must stay low. One continuous login run: a fresh burst of 50 logins starting at once
 * (cold code paths, every connection opening) is not the steady state being measured. Logins are
 * counted from the end of the warm-up.
 */
export async function loginRow(ctx, { duration, warmup = 3, jwksRate = 200 }) {
  const latencies = []
  let failed = 0
  let measuring = false
  const onLogin = (ok, ms) => {
    if (!measuring) return
    if (ok) latencies.push(ms)
    else failed++
  }
  const steps = 3
  const logins = measure(ctx.target.issuer, {
    duration: duration + warmup,
    warmup: 0,
    steps,
    requests: ctx.target.loginRequests({ challenge: CHALLENGE, onLogin }),
  })
  await new Promise((resolve) => setTimeout(resolve, warmup * 1000))
  measuring = true
  const jwks = await measure(ctx.target.issuer, {
    duration,
    warmup: 0,
    connections: 10,
    overallRate: jwksRate,
    requests: [{ method: 'GET', path: pathOf(ctx.discovery.jwks_uri) }],
  })
  measuring = false
  const login = await logins
  latencies.sort((a, b) => a - b)
  return {
    login: {
      ...login,
      perSecond: Math.round(latencies.length / duration),
      loginP50ms: percentile(latencies, 0.5),
      loginP99ms: percentile(latencies, 0.99),
      failedLogins: failed,
    },
    jwksDuringLogins: { ...jwks, rate: jwksRate },
  }
}
