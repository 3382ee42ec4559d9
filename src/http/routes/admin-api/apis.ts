/**
 * /admin/api/v1/apis: register, list, read and remove APIs (resource servers, RFC 8707) through
 * apis/registry.ts. An API is named in paths by its identifier, percent-encoded
 * (`/apis/https%3A%2F%2Fphotos.example.com`).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { addApi, removeApi, UnknownApi } from '../../../apis/registry.js'
import type { Deps } from '../../../deps.js'
import type { Api } from '../../../model/api.js'
import { callerOf } from './caller.js'
import { IdempotencyHeaders, idempotent, sendCreated } from './idempotency.js'
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageOfList } from './pagination.js'
import { adminRoute, iso, NoContent, PageOf, Timestamp } from './schemas.js'

const TAGS = ['APIs']
/** RFC 6749 §3.3 scope-token characters, without `=` (the registry reads `name=description`). */
const ScopeName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[\\x21\\x23-\\x3c\\x3e-\\x5b\\x5d-\\x7e]+$' })

const ApiSchema = Type.Object({
  identifier: Type.String({ description: 'The `resource` clients ask with, and the `aud` of its tokens' }),
  name: Type.String(),
  scopes: Type.Array(Type.Object({ name: Type.String(), description: Type.String() })),
  access_token_ttl: Type.Union([Type.Integer(), Type.Null()], { description: 'Seconds; null: ACCESS_TOKEN_TTL' }),
  first_party_only: Type.Boolean(),
  created_at: Timestamp('When it was registered'),
})

const ApiCreate = Type.Object(
  {
    identifier: Type.String({ minLength: 1, maxLength: 2000, description: 'An https URL (http only for localhost), no fragment' }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    scopes: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: ScopeName,
            description: Type.Optional(Type.String({ maxLength: 200, description: 'What the consent screen says' })),
          },
          { additionalProperties: false },
        ),
        { maxItems: 100 },
      ),
    ),
    access_token_ttl: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 3600 }), Type.Null()])),
    first_party_only: Type.Optional(Type.Boolean({ description: 'Only operator-registered clients may ask for it' })),
  },
  { additionalProperties: false },
)

const ApiParams = Type.Object({ identifier: Type.String({ minLength: 1, maxLength: 200, description: 'The identifier, percent-encoded' }) })

const apiJson = (api: Api) => ({
  identifier: api.identifier,
  name: api.name,
  scopes: api.scopes.map((scope) => ({ name: scope.name, description: scope.description })),
  access_token_ttl: api.accessTokenTtl,
  first_party_only: api.firstPartyOnly,
  created_at: iso(api.createdAt),
})

export const apiRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.post(
    '/apis',
    adminRoute(
      'admin:write',
      {
        operationId: 'createApi',
        summary: 'Register an API: tokens asked for with resource=IDENTIFIER are for it',
        tags: TAGS,
        problems: [422],
      },
      { body: ApiCreate, headers: IdempotencyHeaders, response: { 201: ApiSchema } },
    ),
    async (request, reply) => {
      const { actor } = callerOf(request)
      const body = request.body
      const answer = await idempotent(deps, request, actor, async () => {
        const api = await addApi(
          deps,
          {
            identifier: body.identifier,
            name: body.name,
            scopes: (body.scopes ?? []).map((scope) => (scope.description ? `${scope.name}=${scope.description}` : scope.name)),
            accessTokenTtl: body.access_token_ttl ?? null,
            firstPartyOnly: body.first_party_only ?? false,
          },
          actor,
        )
        return { status: 201 as const, body: apiJson(api) }
      })
      return sendCreated(deps, request, reply, answer, (created) => created.identifier)
    },
  )

  app.get(
    '/apis',
    adminRoute(
      'admin:read',
      { operationId: 'listApis', summary: 'List the registered APIs, oldest first', tags: TAGS },
      { querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: PageOf(ApiSchema, 'A page of APIs') } },
    ),
    async (request) => {
      const page = pageOfList(
        await deps.repos.apis.list(),
        request.query.limit ?? DEFAULT_LIMIT,
        (api) => [api.createdAt, api.identifier],
        decodeCursor(request.query.cursor, ['number', 'string'] as const),
      )
      return { items: page.items.map(apiJson), next_cursor: page.nextCursor }
    },
  )

  app.get(
    '/apis/:identifier',
    adminRoute(
      'admin:read',
      { operationId: 'getApi', summary: 'Read an API', tags: TAGS, problems: [404] },
      { params: ApiParams, response: { 200: ApiSchema } },
    ),
    async (request) => {
      const api = await deps.repos.apis.find(request.params.identifier)
      if (!api) throw new UnknownApi(request.params.identifier)
      return apiJson(api)
    },
  )

  app.delete(
    '/apis/:identifier',
    adminRoute(
      'admin:write',
      {
        operationId: 'deleteApi',
        summary: 'Remove an API; no new tokens are issued for it (those issued stay valid until they expire)',
        tags: TAGS,
        problems: [404],
      },
      { params: ApiParams, response: { 204: NoContent } },
    ),
    async (request, reply) => {
      await removeApi(deps, request.params.identifier, callerOf(request).actor)
      return reply.code(204).send(null)
    },
  )
}
