/**
 * /admin/api/v1/clients: register, list, read, change, rotate the secret of and delete OAuth
 * clients, through clients/lifecycle.ts (the CLI and the console call the same functions). A
 * secret is in the answer to its creation or rotation only, never in a read or a list.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../../deps.js'
import { createClient, deleteClient, getClient, rotateClientSecret, updateClient } from '../../../clients/lifecycle.js'
import { InvalidClientMetadata } from '../../../clients/registration.js'
import { refusedAdminScope } from '../../../oauth/admin-api.js'
import { callerOf } from './caller.js'
import {
  ClientCreate,
  clientJson,
  ClientParams,
  ClientSchema,
  ClientUpdate,
  detailsJson,
  ClientListQuery,
  SecretRotation,
} from './client-schemas.js'
import { IdempotencyHeaders, idempotent, sendCreated } from './idempotency.js'
import { DEFAULT_LIMIT, decodeCursor, pageFrom } from './pagination.js'
import { adminRoute, isoOrNull, NoContent, NullableTimestamp, PageOf } from './schemas.js'

const TAGS = ['Clients']

export const clientRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.post(
    '/clients',
    adminRoute(
      'admin:write',
      {
        operationId: 'createClient',
        summary: 'Register a client; a confidential client gets its secret in this answer only',
        tags: TAGS,
        problems: [409, 422],
      },
      {
        body: ClientCreate,
        headers: IdempotencyHeaders,
        response: {
          201: Type.Composite([ClientSchema, Type.Object({ client_secret: Type.Optional(Type.String({ description: 'Shown once' })) })]),
        },
      },
    ),
    async (request, reply) => {
      const { actor } = callerOf(request)
      const body = request.body
      const answer = await idempotent(deps, request, actor, async () => {
        const { client, secret } = await createClient(
          deps,
          {
            name: body.name,
            redirectUris: body.redirect_uris ?? [],
            postLogoutRedirectUris: body.post_logout_redirect_uris ?? [],
            isPublic: body.public ?? false,
            grantTypes: body.grant_types ?? [],
            pkce: body.pkce,
            scopes: body.scopes ?? [],
            thirdParty: body.third_party ?? false,
            introspect: body.introspect ?? false,
            introspectApis: body.introspect_apis ?? [],
            requireMfa: body.require_mfa ?? false,
            requireDpop: body.require_dpop ?? false,
            requirePar: body.require_par ?? false,
            apis: body.apis ?? [],
            ...(body.backchannel_logout_uri !== undefined ? { backchannelLogoutUri: body.backchannel_logout_uri } : {}),
            backchannelLogoutSessionRequired: body.backchannel_logout_session_required ?? false,
            ...(body.logo_uri !== undefined ? { logoUri: body.logo_uri } : {}),
            ...(body.client_uri !== undefined ? { clientUri: body.client_uri } : {}),
            ...(body.policy_uri !== undefined ? { policyUri: body.policy_uri } : {}),
            ...(body.tos_uri !== undefined ? { tosUri: body.tos_uri } : {}),
          },
          actor,
        )
        const shown = clientJson(client, deps.clock.now(), [...new Set(body.apis ?? [])].sort())
        return { status: 201 as const, body: { ...shown, ...(secret !== null ? { client_secret: secret } : {}) } }
      })
      return sendCreated(deps, request, reply, answer, (created) => created.client_id)
    },
  )

  app.get(
    '/clients',
    adminRoute(
      'admin:read',
      { operationId: 'listClients', summary: 'List clients, oldest first (secrets are never shown)', tags: TAGS },
      { querystring: ClientListQuery, response: { 200: PageOf(ClientSchema, 'A page of clients') } },
    ),
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_LIMIT
      const after = decodeCursor(request.query.cursor, ['number', 'string'] as const)
      const fetched = await deps.repos.clients.listPage({
        limit: limit + 1,
        ...(after !== undefined ? { after } : {}),
        ...(request.query.registration !== undefined ? { registration: request.query.registration } : {}),
      })
      const page = pageFrom(fetched, limit, (client) => [client.createdAt, client.id])
      const now = deps.clock.now()
      return { items: page.items.map((client) => clientJson(client, now)), next_cursor: page.nextCursor }
    },
  )

  app.get(
    '/clients/:client_id',
    adminRoute(
      'admin:read',
      { operationId: 'getClient', summary: 'Read a client with the APIs it may ask tokens for', tags: TAGS, problems: [404] },
      { params: ClientParams, response: { 200: ClientSchema } },
    ),
    async (request) => detailsJson(await getClient(deps, request.params.client_id), deps.clock.now()),
  )

  app.patch(
    '/clients/:client_id',
    adminRoute(
      'admin:write',
      {
        operationId: 'updateClient',
        summary: 'Change redirect URIs, names, grant types, scopes, APIs or policies',
        description:
          'The client as changed must pass the registration rules as a whole; a metadata-document client keeps what its document says.',
        tags: TAGS,
        problems: [404, 409, 422],
      },
      { params: ClientParams, body: ClientUpdate, response: { 200: ClientSchema } },
    ),
    async (request) => {
      const { actor } = callerOf(request)
      const body = request.body
      if (body.scopes !== undefined) {
        // Admin scopes go to operator-registered clients only (oauth/admin-api.ts).
        const { client } = await getClient(deps, request.params.client_id)
        const refused = refusedAdminScope(client.registration, body.scopes)
        if (refused !== null) throw new InvalidClientMetadata('scopes', 'admin_scope_self_registered', refused)
      }
      const details = await updateClient(
        deps,
        request.params.client_id,
        {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.redirect_uris !== undefined ? { redirectUris: body.redirect_uris } : {}),
          ...(body.post_logout_redirect_uris !== undefined ? { postLogoutRedirectUris: body.post_logout_redirect_uris } : {}),
          ...(body.grant_types !== undefined ? { grantTypes: body.grant_types } : {}),
          ...(body.scopes !== undefined ? { scopes: body.scopes } : {}),
          ...(body.apis !== undefined ? { apis: body.apis } : {}),
          ...(body.introspect !== undefined ? { introspect: body.introspect } : {}),
          ...(body.introspect_apis !== undefined ? { introspectApis: body.introspect_apis } : {}),
          ...(body.require_mfa !== undefined ? { requireMfa: body.require_mfa } : {}),
          ...(body.require_dpop !== undefined ? { requireDpop: body.require_dpop } : {}),
          ...(body.require_par !== undefined ? { requirePar: body.require_par } : {}),
          ...(body.backchannel_logout_uri !== undefined ? { backchannelLogoutUri: body.backchannel_logout_uri } : {}),
          ...(body.backchannel_logout_session_required !== undefined
            ? { backchannelLogoutSessionRequired: body.backchannel_logout_session_required }
            : {}),
          ...(body.logo_uri !== undefined ? { logoUri: body.logo_uri } : {}),
          ...(body.client_uri !== undefined ? { clientUri: body.client_uri } : {}),
          ...(body.policy_uri !== undefined ? { policyUri: body.policy_uri } : {}),
          ...(body.tos_uri !== undefined ? { tosUri: body.tos_uri } : {}),
        },
        actor,
      )
      return detailsJson(details, deps.clock.now())
    },
  )

  app.post(
    '/clients/:client_id/rotate-secret',
    adminRoute(
      'admin:write',
      {
        operationId: 'rotateClientSecret',
        summary: 'Give a confidential client a new secret; the current one keeps working for the overlap',
        tags: TAGS,
        problems: [404, 409, 422],
      },
      {
        params: ClientParams,
        body: SecretRotation,
        headers: IdempotencyHeaders,
        response: {
          200: Type.Object({
            client_id: Type.String(),
            client_secret: Type.String({ description: 'The new secret, shown once' }),
            previous_secret_expires_at: NullableTimestamp('Until when the secret it replaces still works; null: it stopped at once'),
          }),
        },
      },
    ),
    async (request, reply) => {
      const { actor } = callerOf(request)
      const overlap = request.body.secret_overlap
      const answer = await idempotent(deps, request, actor, async () => {
        const rotation = await rotateClientSecret(
          deps,
          request.params.client_id,
          overlap !== undefined ? { overlapSeconds: overlap } : {},
          actor,
        )
        return {
          status: 200 as const,
          body: {
            client_id: rotation.client.id,
            client_secret: rotation.secret,
            previous_secret_expires_at: isoOrNull(rotation.previousSecretExpiresAt),
          },
        }
      })
      if (answer.replayed) reply.header('idempotent-replayed', 'true')
      return reply.code(answer.status).send(answer.body)
    },
  )

  app.delete(
    '/clients/:client_id',
    adminRoute(
      'admin:write',
      {
        operationId: 'deleteClient',
        summary: 'Delete a client with its grants and tokens',
        tags: TAGS,
        problems: [404],
      },
      { params: ClientParams, response: { 204: NoContent } },
    ),
    async (request, reply) => {
      await deleteClient(deps, request.params.client_id, callerOf(request).actor)
      return reply.code(204).send(null)
    },
  )
}
