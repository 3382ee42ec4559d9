/**
 * /admin/api/v1/connections: the upstream identity providers users sign in with; list, read,
 * disable, enable and remove them through connections/registry.ts. Adding one stays with
 * `idp connections add` (it reads a client secret from stdin and asks the upstream's discovery).
 * Their client secrets never leave the server.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { callbackUrl, removeConnection, setConnectionEnabled, UnknownConnection } from '../../../connections/registry.js'
import type { Deps } from '../../../deps.js'
import type { Connection } from '../../../model/connection.js'
import { callerOf } from './caller.js'
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageOfList } from './pagination.js'
import { adminRoute, iso, isoOrNull, NoContent, NullableTimestamp, PageOf, Timestamp } from './schemas.js'

const TAGS = ['Connections']

const ConnectionSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.Union([Type.Literal('oidc'), Type.Literal('oauth2')]),
  issuer: Type.String(),
  client_id: Type.String({ description: 'Tessera’s client_id at the upstream' }),
  scopes: Type.Array(Type.String()),
  domains: Type.Array(Type.String(), { description: 'Email domains sent straight to it (home-realm discovery)' }),
  trust_email: Type.Boolean(),
  store_tokens: Type.Boolean(),
  enabled: Type.Boolean(),
  disabled_at: NullableTimestamp('When it was disabled'),
  redirect_uri: Type.String({ description: 'What to register at the upstream' }),
  created_at: Timestamp('When it was added'),
})

const ConnectionParams = Type.Object({ connection_id: Type.String({ minLength: 1, maxLength: 100 }) })

export const connectionRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const connectionJson = (connection: Connection) => ({
    id: connection.id,
    name: connection.name,
    type: connection.type,
    issuer: connection.issuer,
    client_id: connection.clientId,
    scopes: [...connection.scopes],
    domains: [...connection.domains],
    trust_email: connection.trustEmail,
    store_tokens: connection.storeTokens,
    enabled: connection.disabledAt === null,
    disabled_at: isoOrNull(connection.disabledAt),
    redirect_uri: callbackUrl(deps.config.issuer, connection.id),
    created_at: iso(connection.createdAt),
  })

  app.get(
    '/connections',
    adminRoute(
      'admin:read',
      { operationId: 'listConnections', summary: 'List the upstream identity providers, oldest first', tags: TAGS },
      {
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: PageOf(ConnectionSchema, 'A page of connections') },
      },
    ),
    async (request) => {
      const page = pageOfList(
        await deps.repos.connections.list(),
        request.query.limit ?? DEFAULT_LIMIT,
        (connection) => [connection.createdAt, connection.id],
        decodeCursor(request.query.cursor, ['number', 'string'] as const),
      )
      return { items: page.items.map(connectionJson), next_cursor: page.nextCursor }
    },
  )

  app.get(
    '/connections/:connection_id',
    adminRoute(
      'admin:read',
      { operationId: 'getConnection', summary: 'Read a connection', tags: TAGS, problems: [404] },
      { params: ConnectionParams, response: { 200: ConnectionSchema } },
    ),
    async (request) => {
      const connection = await deps.repos.connections.find(request.params.connection_id)
      if (!connection) throw new UnknownConnection(request.params.connection_id)
      return connectionJson(connection)
    },
  )

  for (const [action, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    app.post(
      `/connections/:connection_id/${action}`,
      adminRoute(
        'admin:write',
        {
          operationId: `${action}Connection`,
          summary: enabled ? 'Turn a connection on again' : 'Turn a connection off: hidden from the login page, its sign-ins refused',
          tags: TAGS,
          problems: [404],
        },
        { params: ConnectionParams, response: { 200: ConnectionSchema } },
      ),
      async (request) =>
        connectionJson(
          await setConnectionEnabled(deps, await connectionIdOf(deps, request.params.connection_id), enabled, callerOf(request).actor),
        ),
    )
  }

  app.delete(
    '/connections/:connection_id',
    adminRoute(
      'admin:write',
      {
        operationId: 'deleteConnection',
        summary: 'Remove a connection with its linked identities (accounts made through it stay)',
        tags: TAGS,
        problems: [404],
      },
      { params: ConnectionParams, response: { 204: NoContent } },
    ),
    async (request, reply) => {
      await removeConnection(deps, await connectionIdOf(deps, request.params.connection_id), callerOf(request).actor)
      return reply.code(204).send(null)
    },
  )
}

/** The registry also finds a connection by name (for the CLI); the API names them by id only. */
async function connectionIdOf(deps: Pick<Deps, 'repos'>, id: string): Promise<string> {
  if (!(await deps.repos.connections.find(id))) throw new UnknownConnection(id)
  return id
}
