/**
 * The admin API's test support: a Tessera listening on a loopback port, an operator's client with
 * the admin scopes (as `idp clients add --name ops --grant-type client_credentials --scope
 * admin:read --scope admin:write` registers it), its tokens from openid-client's
 * clientCredentialsGrant, and a small JSON caller over real HTTP.
 */
import * as oidc from 'openid-client'
import { createTestApp, type TestApp, type TestAppOptions } from '../helpers/test-app.js'
import { send } from '../helpers/http-client.js'

export interface Reply {
  readonly status: number
  readonly headers: Headers
  /** The JSON body (undefined when there is none). */
  readonly body: Record<string, unknown> & { items?: Record<string, unknown>[]; next_cursor?: string | null }
}

export interface Ops {
  readonly id: string
  readonly secret: string
}

/** Tokens for the admin API through openid-client, as any client library would get them. */
export async function adminToken(
  issuer: string,
  client: Ops,
  parameters: Record<string, string> = { scope: 'admin:read admin:write' },
): Promise<string> {
  const configuration = await oidc.discovery(new URL(issuer), client.id, client.secret, undefined, {
    execute: [oidc.allowInsecureRequests],
    timeout: 20,
  })
  const tokens = await oidc.clientCredentialsGrant(configuration, parameters)
  return tokens.access_token
}

export class AdminApi {
  constructor(
    readonly issuer: string,
    public token: string | null,
  ) {}

  async call(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; token?: string | null; raw?: string } = {},
  ): Promise<Reply> {
    const token = options.token === undefined ? this.token : options.token
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers }
    if (token !== null) headers['authorization'] = `Bearer ${token}`
    let body: string | undefined = options.raw
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json'
      body = JSON.stringify(options.body)
    }
    const answer = await send(new URL(path.startsWith('/admin') ? path : `/admin/api/v1${path}`, this.issuer), {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    })
    let parsed: Reply['body'] = {}
    if (answer.text !== '') {
      try {
        parsed = JSON.parse(answer.text) as Reply['body']
      } catch {
        throw new Error(`${method} ${path}: ${answer.status} not JSON: ${answer.text.slice(0, 300)}`)
      }
    }
    return { status: answer.status, headers: answer.headers, body: parsed }
  }

  get = (path: string, options?: Parameters<AdminApi['call']>[2]) => this.call('GET', path, options)
  post = (path: string, body?: unknown, options?: Parameters<AdminApi['call']>[2]) =>
    this.call('POST', path, { ...options, ...(body !== undefined ? { body } : {}) })
  patch = (path: string, body: unknown, options?: Parameters<AdminApi['call']>[2]) => this.call('PATCH', path, { ...options, body })
  put = (path: string, body: unknown, options?: Parameters<AdminApi['call']>[2]) => this.call('PUT', path, { ...options, body })
  delete = (path: string, options?: Parameters<AdminApi['call']>[2]) => this.call('DELETE', path, options)
}

export interface AdminContext {
  readonly ctx: TestApp
  readonly ops: Ops
  /** Holds a token with both admin scopes. */
  readonly api: AdminApi
}

/** A listening test app, the ops client and an API caller holding its token. */
export async function startAdmin(options: TestAppOptions = {}): Promise<AdminContext> {
  const ctx = await createTestApp({ listen: true, ...options })
  try {
    const { client, secret } = await ctx.addClient({
      name: 'ops',
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: ['admin:read', 'admin:write'],
    })
    const ops = { id: client.id, secret: secret! }
    return { ctx, ops, api: new AdminApi(ctx.issuer, await adminToken(ctx.issuer, ops)) }
  } catch (error) {
    await ctx.close()
    throw error
  }
}

/** Every item of a list, following next_cursor page by page (the page size is `limit`). */
export async function allPages(api: AdminApi, path: string, limit: number): Promise<{ items: Record<string, unknown>[]; pages: number }> {
  const items: Record<string, unknown>[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const separator = path.includes('?') ? '&' : '?'
    const page = await api.get(`${path}${separator}limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
    if (page.status !== 200) throw new Error(`GET ${path}: ${page.status} ${JSON.stringify(page.body)}`)
    items.push(...(page.body.items ?? []))
    cursor = page.body.next_cursor ?? null
    pages += 1
    if (pages > 100) throw new Error('more than 100 pages')
  } while (cursor !== null)
  return { items, pages }
}
