/**
 * Real upstream identity providers on loopback ports, for the federation tests:
 *
 * - an OpenID provider: oidc-provider (panva), one confidential client for Tessera, PKCE required,
 *   and a one-button sign-in page that signs in as whichever account the test chose next
 *   (`nextUser`), so a test can make the upstream assert any subject, email or `amr`;
 * - a GitHub-shaped OAuth 2.0 server (not OpenID): /login/oauth/authorize with a one-button page,
 *   /login/oauth/access_token (JSON, PKCE S256 checked), and /user answering the account as
 *   GitHub does (a numeric `id`, `login`, `name`, `email`).
 */
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'

export interface UpstreamUser {
  readonly sub: string
  readonly email?: string | undefined
  readonly email_verified?: boolean | undefined
  readonly name?: string | undefined
  /** RFC 8176 values the upstream reports in the ID token. */
  readonly amr?: readonly string[] | undefined
}

export interface Upstream {
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string
  /** The account the next sign-in at the upstream is (set by the test before each flow). */
  nextUser: UpstreamUser
  close(): Promise<void>
}

const escape = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const page = (action: string, extra = '') => `<!doctype html><meta charset="utf-8"><title>Upstream sign-in</title>
<h1>Upstream sign-in</h1><form method="post" action="${escape(action)}">${extra}<button type="submit">Sign in at the upstream</button></form>`

function send(res: http.ServerResponse, status: number, body: string, type = 'text/html; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body)
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  let body = ''
  for await (const chunk of req) body += String(chunk)
  return new URLSearchParams(body)
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

const closeServer = (server: http.Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

/** oidc-provider as the upstream OpenID provider. `redirectUris`: Tessera's callback URLs. */
export async function startOpenIdProvider(redirectUris: readonly string[]): Promise<Upstream> {
  const server = http.createServer()
  const port = await listen(server)
  const issuer = `http://127.0.0.1:${port}`
  const clientSecret = randomBytes(24).toString('base64url')
  const accounts = new Map<string, UpstreamUser>()
  const upstream: Upstream = {
    issuer,
    clientId: 'tessera',
    clientSecret,
    nextUser: { sub: 'upstream-user', email: 'someone@upstream.test', email_verified: true, name: 'Someone' },
    close: () => closeServer(server),
  }
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'tessera',
        client_secret: clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [...redirectUris],
      },
    ],
    // amr reaches ID tokens only as a claim of a granted scope; email and name come from userinfo (conformIdTokenClaims).
    claims: { openid: ['sub', 'amr'], email: ['email', 'email_verified'], profile: ['name'] },
    // The test's accounts claim what the test said, emails included, verified or not.
    findAccount: async (_ctx: unknown, sub: string) => {
      const account = accounts.get(sub)
      if (!account) return undefined
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          ...(account.email !== undefined ? { email: account.email } : {}),
          ...(account.email_verified !== undefined ? { email_verified: account.email_verified } : {}),
          ...(account.name !== undefined ? { name: account.name } : {}),
        }),
      }
    },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(16).toString('base64url')] },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
  })
  // Quiet: oidc-provider warns about its development defaults through console.
  provider.on('server_error', () => {})
  const callback = provider.callback()
  server.on('request', (req, res) => {
    void (async () => {
      const match = /^\/interaction\/([^/?]+)/.exec(req.url ?? '')
      if (!match) return callback(req, res)
      const details = await provider.interactionDetails(req, res)
      if (req.method === 'GET')
        return send(res, 200, page(`/interaction/${details.uid}`, '<label><input type="checkbox" name="deny" value="1"> Refuse</label>'))
      const form = await readForm(req)
      if (form.get('deny') === '1') {
        return provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'the user refused' },
          { mergeWithLastSubmission: false },
        )
      }
      const user = upstream.nextUser
      accounts.set(user.sub, user)
      const grant = new provider.Grant({ accountId: user.sub, clientId: String(details.params.client_id) })
      grant.addOIDCScope(String(details.params.scope ?? 'openid'))
      const grantId = await grant.save()
      const login = { accountId: user.sub, ...(user.amr !== undefined ? { amr: [...user.amr] } : {}) }
      return provider.interactionFinished(req, res, { login, consent: { grantId } }, { mergeWithLastSubmission: false })
    })().catch((error: unknown) => send(res, 500, `upstream test server error: ${String(error)}`, 'text/plain'))
  })
  return upstream
}

export interface GitHubLikeUser {
  readonly id: number
  readonly login: string
  readonly name: string | null
  readonly email: string | null
}

export interface GitHubLike {
  readonly origin: string
  readonly clientId: string
  readonly clientSecret: string
  nextUser: GitHubLikeUser
  /** Token requests the server answered (to check PKCE and client authentication were sent). */
  readonly tokenRequests: URLSearchParams[]
  close(): Promise<void>
}

/** A GitHub-shaped OAuth 2.0 server (no OpenID Connect). */
export async function startGitHubLike(): Promise<GitHubLike> {
  const server = http.createServer()
  const port = await listen(server)
  const origin = `http://127.0.0.1:${port}`
  const clientSecret = randomBytes(24).toString('base64url')
  const codes = new Map<string, { user: GitHubLikeUser; challenge: string; redirectUri: string }>()
  const tokens = new Map<string, GitHubLikeUser>()
  const github: GitHubLike = {
    origin,
    clientId: 'gh-client',
    clientSecret,
    nextUser: { id: 4242, login: 'octo', name: 'Octo Cat', email: 'octo@github.test' },
    tokenRequests: [],
    close: () => closeServer(server),
  }
  server.on('request', (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', origin)
      if (url.pathname === '/login/oauth/authorize' && req.method === 'GET') {
        const p = url.searchParams
        if (p.get('client_id') !== github.clientId || p.get('code_challenge_method') !== 'S256') return send(res, 400, 'bad request')
        const hidden = ['redirect_uri', 'state', 'code_challenge']
          .map((name) => `<input type="hidden" name="${name}" value="${escape(p.get(name) ?? '')}">`)
          .join('')
        return send(res, 200, page('/login/oauth/authorize', hidden))
      }
      if (url.pathname === '/login/oauth/authorize' && req.method === 'POST') {
        const form = await readForm(req)
        const code = randomBytes(16).toString('hex')
        const redirectUri = form.get('redirect_uri') ?? ''
        codes.set(code, { user: github.nextUser, challenge: form.get('code_challenge') ?? '', redirectUri })
        const target = new URL(redirectUri)
        target.searchParams.set('code', code)
        target.searchParams.set('state', form.get('state') ?? '')
        res.writeHead(302, { location: target.href })
        return res.end()
      }
      if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
        const form = await readForm(req)
        github.tokenRequests.push(form)
        const code = codes.get(form.get('code') ?? '')
        codes.delete(form.get('code') ?? '')
        const verifier = form.get('code_verifier') ?? ''
        const pkceOk = code !== undefined && createHash('sha256').update(verifier).digest('base64url') === code.challenge
        const clientOk = form.get('client_id') === github.clientId && form.get('client_secret') === clientSecret
        if (!code || !pkceOk || !clientOk || form.get('redirect_uri') !== code.redirectUri)
          return send(res, 400, JSON.stringify({ error: 'bad_verification_code' }), 'application/json')
        const token = `gho_${randomBytes(16).toString('hex')}`
        tokens.set(token, code.user)
        return send(res, 200, JSON.stringify({ access_token: token, token_type: 'bearer', scope: 'read:user' }), 'application/json')
      }
      if (url.pathname === '/user' && req.method === 'GET') {
        const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1]
        const user = token === undefined ? undefined : tokens.get(token)
        if (!user) return send(res, 401, JSON.stringify({ message: 'Bad credentials' }), 'application/json')
        return send(res, 200, JSON.stringify({ ...user, type: 'User' }), 'application/json')
      }
      send(res, 404, 'not found', 'text/plain')
    })().catch((error: unknown) => send(res, 500, String(error), 'text/plain'))
  })
  return github
}
