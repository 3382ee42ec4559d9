/**
 * Tessera in front of an MCP server, end to end with the MCP SDK on both sides (MCP authorization,
 * revision 2025-11-25): the real Tessera process, an MCP server verifying Tessera's JWTs for its
 * own audience (mcp-server.ts), and the SDK's client finding Tessera through RFC 9728 metadata,
 * registering itself (RFC 7591) or identifying by a client ID metadata document served over
 * https, asking with resource= for the server (RFC 8707); the user signs in and consents; the tool
 * call works, and a Tessera token for another API is refused.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { decodeJwt } from 'jose'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js'
import { freePort } from '../helpers/free-port.js'
import { hiddenField, HttpBrowser } from '../helpers/http-client.js'
import { idp, installation, requireBuild, startServer, waitHealthy } from '../helpers/server-process.js'
import { startMcpServer } from './mcp-server.js'

const REDIRECT = 'http://127.0.0.1:53682/callback'
const CALENDAR = 'https://calendar.example'

/** An MCP client application: the SDK's OAuth provider interface, in memory; it records where it would send the user. */
class Agent implements OAuthClientProvider {
  #information: OAuthClientInformationMixed | undefined
  #tokens: OAuthTokens | undefined
  #verifier = ''
  authorizationUrl: URL | undefined
  constructor(readonly clientMetadataUrl?: string) {}
  get redirectUrl(): string {
    return REDIRECT
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Notes Agent',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }
  }
  clientInformation() {
    return this.#information
  }
  saveClientInformation(information: OAuthClientInformationMixed) {
    this.#information = information
  }
  tokens() {
    return this.#tokens
  }
  saveTokens(tokens: OAuthTokens) {
    this.#tokens = tokens
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier
  }
  codeVerifier() {
    return this.#verifier
  }
}

/** A self-signed certificate for 127.0.0.1 (the Tessera process trusts it through NODE_EXTRA_CA_CERTS). */
function loopbackCertificate(dir: string): { key: string; cert: string; certPath: string } {
  const keyPath = path.join(dir, 'key.pem')
  const certPath = path.join(dir, 'cert.pem')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  )
  return { key: fs.readFileSync(keyPath, 'utf8'), cert: fs.readFileSync(certPath, 'utf8'), certPath }
}

t.test('an MCP server behind Tessera, with the MCP SDK', async (t) => {
  requireBuild()
  const scratch = fs.mkdtempSync(path.join(process.env['TMPDIR'] ?? '/tmp', 'tessera-mcp-'))
  t.teardown(() => fs.rmSync(scratch, { recursive: true, force: true }))
  const tls = loopbackCertificate(scratch)

  // A web site describing an agent by URL (client ID metadata document), over https.
  const site = https.createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
    if (request.url !== '/agent.json') return void response.writeHead(404).end()
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ ...new Agent().clientMetadata, client_id: documentUrl, client_name: 'Notes Agent (by URL)' }))
  })
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => site.close(() => resolve())))
  const documentUrl = `https://127.0.0.1:${(site.address() as AddressInfo).port}/agent.json`

  const install = await installation(t, { REGISTRATION: 'open', NODE_EXTRA_CA_CERTS: tls.certPath, LOG_LEVEL: 'warn' })
  const mcpPort = await freePort()
  const mcpUrl = `http://127.0.0.1:${mcpPort}/mcp`
  await idp(t, install, ['apis', 'add', '--identifier', mcpUrl, '--name', 'Notes MCP', '--scope', 'notes:read=Read your notes'])
  await idp(t, install, ['apis', 'add', '--identifier', CALENDAR, '--name', 'Calendar', '--scope', 'calendar:read'])
  const user = (
    await idp(t, install, ['users', 'add', '--email', 'ada@example.com', '--password-stdin'], { stdin: 'correct horse battery staple' })
  ).json
  const service = (
    await idp(t, install, [
      'clients',
      'add',
      '--name',
      'Calendar sync',
      '--grant-type',
      'client_credentials',
      '--scope',
      'calendar:read',
      '--api',
      CALENDAR,
    ])
  ).json
  const server = startServer(t, install)
  await waitHealthy(server, install)
  const mcp = await startMcpServer({ issuer: install.issuer, port: mcpPort, scope: 'notes:read' })
  t.teardown(() => mcp.close())

  /** The user's part: sign in at Tessera and allow the agent; returns the code and the consent page. */
  async function approve(authorizationUrl: URL): Promise<{ code: string; consent: string }> {
    const browser = new HttpBrowser(install.issuer)
    const start = await browser.get(authorizationUrl.href)
    t.equal(start.status, 303, 'authorize sends the user to log in')
    const login = await browser.get(start.location!)
    const loggedIn = await browser.post('/login', {
      _csrf: hiddenField(login.body, '_csrf'),
      interaction: hiddenField(login.body, 'interaction'),
      email: 'ada@example.com',
      password: 'correct horse battery staple',
    })
    t.match(loggedIn.location, /^\/consent\?/, 'an agent always asks for consent')
    const consent = await browser.get(loggedIn.location!)
    const approved = await browser.post('/consent', {
      _csrf: hiddenField(consent.body, '_csrf'),
      interaction: hiddenField(consent.body, 'interaction'),
      decision: 'approve',
    })
    const callback = new URL(approved.location!)
    t.equal(`${callback.origin}${callback.pathname}`, REDIRECT)
    return { code: callback.searchParams.get('code')!, consent: consent.body }
  }

  /** The SDK's flow: connect → 401 → discovery, registration, authorization → finishAuth → connect. */
  async function connect(agent: Agent): Promise<{ client: Client; consent: string }> {
    const first = new Client({ name: 'notes-agent', version: '1.0.0' })
    await t.rejects(
      first.connect(new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider: agent })),
      { message: /Unauthorized/ },
      'the first connection is refused: no token yet',
    )
    t.ok(agent.authorizationUrl, 'the SDK sends the user to Tessera')
    t.equal(agent.authorizationUrl!.searchParams.get('resource'), mcp.url, 'with the MCP server as the resource (RFC 8707)')
    const { code, consent } = await approve(agent.authorizationUrl!)
    const transport = new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider: agent })
    await transport.finishAuth(code)
    const client = new Client({ name: 'notes-agent', version: '1.0.0' })
    await client.connect(transport)
    t.teardown(() => client.close())
    return { client, consent }
  }

  async function whoami(client: Client): Promise<Record<string, unknown>> {
    const result = await client.callTool({ name: 'whoami', arguments: {} })
    return JSON.parse((result.content as { text: string }[])[0]!.text) as Record<string, unknown>
  }

  await t.test('an agent that registers itself (RFC 7591)', async (t) => {
    const agent = new Agent()
    const { client, consent } = await connect(agent)
    const clientId = agent.clientInformation()!.client_id
    t.notMatch(clientId, /^https?:/, 'a registered client_id')
    t.match(consent, /Notes Agent/)
    t.match(consent, /registered itself/)
    t.match(consent, /Read your notes/, 'the API scope in plain words')
    t.same(await whoami(client), { sub: user['id'], client: clientId }, 'the tool runs for the user, through the agent')
    const access = decodeJwt(agent.tokens()!.access_token)
    t.equal(access.aud, mcp.url, 'the token is for this MCP server only')
    t.equal(access['scope'], 'notes:read')
  })

  await t.test('an agent identified by its client ID metadata document', async (t) => {
    const agent = new Agent(documentUrl)
    const { client, consent } = await connect(agent)
    t.equal(agent.clientInformation()!.client_id, documentUrl, 'the URL is the client_id')
    t.match(consent, /Notes Agent \(by URL\)/)
    t.match(consent, new RegExp(`described by <strong>127\\.0\\.0\\.1:${new URL(documentUrl).port}</strong>`))
    t.same(await whoami(client), { sub: user['id'], client: documentUrl })
  })

  await t.test('a Tessera token for another API is refused by the MCP server', async (t) => {
    const issued = await fetch(`${install.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${service['client_id'] as string}:${service['client_secret'] as string}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: CALENDAR, scope: 'calendar:read' }),
    })
    t.equal(issued.status, 200)
    const calendarToken = ((await issued.json()) as { access_token: string }).access_token
    t.equal(decodeJwt(calendarToken).aud, CALENDAR)
    const refused = await fetch(mcp.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${calendarToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    t.equal(refused.status, 401)
    t.match(refused.headers.get('www-authenticate'), /invalid_token/)
    t.match(
      refused.headers.get('www-authenticate'),
      /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/,
    )
  })
})
