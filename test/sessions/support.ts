/**
 * Helpers for the back-channel logout tests (not a test file): a relying party's back-channel
 * logout endpoint as a real node:http server on 127.0.0.1, which records every POST and answers
 * what the test tells it to, and the relying party's validation of a logout token with jose
 * (OpenID Connect Back-Channel Logout 1.0 §2.6) against Tessera's published keys.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose'
import { buildClient, type NewClientRequest } from '../../src/clients/registration.js'
import type { TestApp } from '../helpers/test-app.js'
import type { RegisteredClient } from '../helpers/client.js'

export const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

export interface ReceivedPost {
  readonly path: string
  readonly contentType: string | undefined
  readonly form: URLSearchParams
  /** The logout_token parameter ('' when absent). */
  readonly token: string
}

/**
 * A relying party's back-channel logout endpoint. `status` decides each answer (by the POST's
 * number, from 1); `hold` keeps answers back until `release()`.
 */
export class RelyingPartyEndpoint {
  readonly received: ReceivedPost[] = []
  status: (count: number) => number = () => 200
  #held: (() => void)[] = []
  #holding = false
  #waiters: (() => void)[] = []

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  /** Listens on 127.0.0.1 (on `port` when given: a port that refused connections until now). */
  static async start(port = 0): Promise<RelyingPartyEndpoint> {
    let endpoint: RelyingPartyEndpoint | undefined
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => endpoint!.#record(request, Buffer.concat(chunks).toString('utf8'), response))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    endpoint = new RelyingPartyEndpoint(server, (server.address() as AddressInfo).port)
    return endpoint
  }

  /** The logout URI to register: the path tells clients apart. */
  uri(path = '/backchannel-logout'): string {
    return `http://127.0.0.1:${this.port}${path}`
  }

  #record(request: http.IncomingMessage, body: string, response: http.ServerResponse): void {
    const form = new URLSearchParams(body)
    this.received.push({
      path: request.url ?? '',
      contentType: request.headers['content-type'],
      form,
      token: form.get('logout_token') ?? '',
    })
    const status = this.status(this.received.length)
    const answer = () => response.writeHead(status, { 'cache-control': 'no-store' }).end()
    if (this.#holding) this.#held.push(answer)
    else answer()
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  /** Answers nothing until release(): a relying party that is slow to answer. */
  hold(): void {
    this.#holding = true
  }

  release(): void {
    this.#holding = false
    for (const answer of this.#held.splice(0)) answer()
  }

  /** Resolves once `count` POSTs have arrived in total (bounded: a failure names what was awaited). */
  async waitFor(count: number, ms = 20_000): Promise<ReceivedPost[]> {
    const deadline = Date.now() + ms
    while (this.received.length < count) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`the relying party received ${this.received.length} POSTs, not ${count}, within ${ms} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    return this.received
  }

  async close(): Promise<void> {
    this.release()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

/** Registers a client the way `idp clients add` does, with a back-channel logout URI when given. */
export async function addLogoutClient(
  ctx: TestApp,
  input: Partial<NewClientRequest> & { backchannelLogoutUri?: string },
): Promise<RegisteredClient> {
  const registered = buildClient(
    {
      name: input.name ?? 'Logout test app',
      redirectUris: input.redirectUris ?? ['https://rp.example/callback'],
      postLogoutRedirectUris: [],
      isPublic: false,
      grantTypes: [],
      pkce: undefined,
      scopes: [],
      ...input,
    },
    ctx.clock.now(),
    { issuer: ctx.issuer },
  )
  await ctx.deps.repos.clients.insert(registered.client)
  return registered
}

/**
 * The relying party's checks (§2.6): signature by a key from Tessera's JWKS (fetched over HTTP at
 * `jwksBase`), RS256, typ logout+jwt, iss, aud, iat and exp (at the test's clock), the events
 * member, sub and sid present, no nonce. Returns the claims.
 */
export async function validateLogoutToken(
  token: string,
  expected: { readonly issuer: string; readonly clientId: string; readonly now: number; readonly jwksBase?: string },
): Promise<JWTPayload & { sid: string; sub: string }> {
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', expected.jwksBase ?? expected.issuer))
  const { payload } = await jwtVerify(token, jwks, {
    issuer: expected.issuer,
    audience: expected.clientId,
    typ: 'logout+jwt',
    algorithms: ['RS256'],
    currentDate: new Date(expected.now * 1000),
    requiredClaims: ['iat', 'exp', 'jti', 'sub', 'sid', 'events'],
  })
  const events = payload['events'] as Record<string, unknown> | undefined
  if (typeof events !== 'object' || events === null || JSON.stringify(events[BACKCHANNEL_EVENT]) !== '{}')
    throw new Error(`no back-channel logout event: ${JSON.stringify(events)}`)
  if ('nonce' in payload) throw new Error('a logout token must not contain a nonce')
  return payload as JWTPayload & { sid: string; sub: string }
}
