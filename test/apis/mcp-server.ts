/**
 * An MCP server protected by Tessera, built the way the README's "Protect an MCP server" recipe
 * says (not a test file): the MCP SDK's Streamable HTTP transport and bearer middleware, RFC 9728
 * protected-resource metadata naming Tessera, and access tokens verified with jose against
 * Tessera's JWKS: issuer, `at+jwt` type, and this server's URL as the audience (RFC 8707).
 */
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import express from 'express'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js'
import { getOAuthProtectedResourceMetadataUrl, mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js'
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js'
import type { OAuthMetadata } from '@modelcontextprotocol/sdk/shared/auth.js'

export interface RunningMcpServer {
  /** The MCP endpoint, which is also the API identifier registered in Tessera. */
  readonly url: string
  close(): Promise<void>
}

export async function startMcpServer(options: { issuer: string; port: number; scope: string }): Promise<RunningMcpServer> {
  const url = `http://127.0.0.1:${options.port}/mcp`
  const jwks = createRemoteJWKSet(new URL(`${options.issuer}/.well-known/jwks.json`))
  const oauthMetadata = (await (await fetch(`${options.issuer}/.well-known/oauth-authorization-server`)).json()) as OAuthMetadata

  const verifier = {
    async verifyAccessToken(token: string) {
      try {
        const { payload } = await jwtVerify(token, jwks, { issuer: options.issuer, audience: url, typ: 'at+jwt', algorithms: ['RS256'] })
        return {
          token,
          clientId: String(payload['client_id']),
          scopes: String(payload['scope'] ?? '')
            .split(' ')
            .filter(Boolean),
          expiresAt: payload.exp,
          resource: new URL(url),
          extra: { sub: payload.sub },
        }
      } catch (error) {
        throw new InvalidTokenError(`the access token is not for this server: ${(error as Error).message}`)
      }
    },
  }

  const app = express()
  app.use(
    mcpAuthMetadataRouter({ oauthMetadata, resourceServerUrl: new URL(url), scopesSupported: [options.scope], resourceName: 'Notes MCP' }),
  )
  const bearer = requireBearerAuth({
    verifier,
    requiredScopes: [options.scope],
    resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(new URL(url)),
  })
  app.post('/mcp', express.json(), bearer, async (request, response) => {
    const server = new McpServer({ name: 'notes', version: '1.0.0' })
    server.registerTool('whoami', { description: 'Who the access token speaks for' }, async (extra) => ({
      content: [{ type: 'text', text: JSON.stringify({ sub: extra.authInfo?.extra?.['sub'], client: extra.authInfo?.clientId }) }],
    }))
    // Stateless: one transport per request.
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
    response.on('close', () => void transport.close())
    await server.connect(transport)
    await transport.handleRequest(request, response, request.body)
  })

  const listener: Server = await new Promise((resolve) => {
    const server = app.listen(options.port, '127.0.0.1', () => resolve(server))
  })
  return {
    url: `http://127.0.0.1:${(listener.address() as AddressInfo).port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        listener.closeAllConnections()
        listener.close(() => resolve())
      }),
  }
}
