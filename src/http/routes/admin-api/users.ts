/**
 * /admin/api/v1/users: create, list, read, change, set roles, disable and enable, reset second
 * factors, export and delete accounts, through accounts/lifecycle.ts and accounts/data-export.ts
 * (the CLI and the console call the same functions). No answer ever holds a password hash.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import {
  createUser,
  deleteUser,
  disableUser,
  enableUser,
  getUser,
  resetUserFactors,
  setUserRoles,
  updateUser,
  type AccountDetails,
} from '../../../accounts/lifecycle.js'
import { exportUserData } from '../../../accounts/data-export.js'
import type { Deps } from '../../../deps.js'
import type { FactorSummary } from '../../../factors/summary.js'
import type { User } from '../../../model/user.js'
import { callerOf } from './caller.js'
import { IdempotencyHeaders, idempotent, sendCreated } from './idempotency.js'
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageFrom } from './pagination.js'
import { adminRoute, iso, isoOrNull, NoContent, NullableTimestamp, PageOf, Timestamp } from './schemas.js'

const TAGS = ['Users']
const Role = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' })
const Roles = Type.Array(Role, { maxItems: 50, uniqueItems: true })

const Factors = Type.Object({ passkeys: Type.Integer(), totp: Type.Boolean(), recovery_codes: Type.Integer() })

const UserSchema = Type.Object({
  id: Type.String({ description: 'The `sub` of the user’s tokens' }),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  email_verified: Type.Boolean(),
  disabled: Type.Boolean(),
  disabled_at: NullableTimestamp('When the account was disabled'),
  roles: Type.Array(Type.String()),
  created_at: Timestamp('When the account was created'),
  factors: Type.Optional(Factors),
  live_sessions: Type.Optional(Type.Integer()),
  linked_identities: Type.Optional(
    Type.Array(
      Type.Object({
        connection_id: Type.String(),
        subject: Type.String(),
        email: Type.Union([Type.String(), Type.Null()]),
        created_at: Timestamp('When it was linked'),
      }),
    ),
  ),
})
type UserJson = Static<typeof UserSchema>

const UserCreate = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320 }),
    name: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    password: Type.String({ minLength: 1, maxLength: 1024, description: 'Checked against the password policy exactly as given' }),
    roles: Type.Optional(Roles),
  },
  { additionalProperties: false },
)

const UserUpdate = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()], { description: 'null or "" removes it' })),
    email: Type.Optional(Type.String({ minLength: 3, maxLength: 320, description: 'The new sign-in address, unverified until proven' })),
  },
  { additionalProperties: false },
)

const UserParams = Type.Object({ user_id: Type.String({ minLength: 1, maxLength: 100 }) })
const ListQuery = Type.Object(
  {
    ...PageQuery,
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 320, description: 'Only addresses containing this (any case)' })),
  },
  { additionalProperties: false },
)

export function userJson(user: User, details?: Omit<AccountDetails, 'user'>): UserJson {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    email_verified: user.emailVerified,
    disabled: user.disabledAt !== null,
    disabled_at: isoOrNull(user.disabledAt),
    roles: [...user.roles],
    created_at: iso(user.createdAt),
    ...(details !== undefined
      ? {
          factors: factorsJson(details.factors),
          live_sessions: details.liveSessions,
          linked_identities: details.identities.map((identity) => ({
            connection_id: identity.connectionId,
            subject: identity.subject,
            email: identity.email,
            created_at: iso(identity.createdAt),
          })),
        }
      : {}),
  }
}

const factorsJson = (factors: FactorSummary) => ({ passkeys: factors.passkeys, totp: factors.totp, recovery_codes: factors.recoveryCodes })

export const userRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.post(
    '/users',
    adminRoute(
      'admin:write',
      {
        operationId: 'createUser',
        summary: 'Create a user with a password (the address counts as verified)',
        tags: TAGS,
        problems: [409, 422],
      },
      { body: UserCreate, headers: IdempotencyHeaders, response: { 201: UserSchema } },
    ),
    async (request, reply) => {
      const { actor } = callerOf(request)
      const { email, name, password, roles } = request.body
      const answer = await idempotent(deps, request, actor, async () => {
        const user = await createUser(deps, { email, name: name ?? null, password, roles: roles ?? [] }, actor)
        return { status: 201 as const, body: userJson(user) }
      })
      return sendCreated(deps, request, reply, answer, (created) => created.id)
    },
  )

  app.get(
    '/users',
    adminRoute(
      'admin:read',
      { operationId: 'listUsers', summary: 'List users by address, optionally only addresses containing `email`', tags: TAGS },
      { querystring: ListQuery, response: { 200: PageOf(UserSchema, 'A page of users') } },
    ),
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_LIMIT
      const after = decodeCursor(request.query.cursor, ['string'] as const)
      const fetched = await deps.repos.users.search({
        emailContains: request.query.email ?? '',
        limit: limit + 1,
        ...(after !== undefined ? { afterEmail: after[0] } : {}),
      })
      const page = pageFrom(fetched, limit, (user) => [user.email])
      return { items: page.items.map((user) => userJson(user)), next_cursor: page.nextCursor }
    },
  )

  app.get(
    '/users/:user_id',
    adminRoute(
      'admin:read',
      {
        operationId: 'getUser',
        summary: 'Read a user with second factors, live sessions and linked identities',
        tags: TAGS,
        problems: [404],
      },
      { params: UserParams, response: { 200: UserSchema } },
    ),
    async (request) => {
      const { user, ...details } = await getUser(deps, request.params.user_id)
      return userJson(user, details)
    },
  )

  app.patch(
    '/users/:user_id',
    adminRoute(
      'admin:write',
      { operationId: 'updateUser', summary: 'Change the name or the sign-in address', tags: TAGS, problems: [404, 409, 422] },
      { params: UserParams, body: UserUpdate, response: { 200: UserSchema } },
    ),
    async (request) => {
      const { name, email } = request.body
      const changes = { ...(name !== undefined ? { name } : {}), ...(email !== undefined ? { email } : {}) }
      return userJson(await updateUser(deps, request.params.user_id, changes, callerOf(request).actor))
    },
  )

  app.put(
    '/users/:user_id/roles',
    adminRoute(
      'admin:write',
      {
        operationId: 'setUserRoles',
        summary: 'Replace the roles (an empty list clears them); tokens issued from then on carry them',
        tags: TAGS,
        problems: [404, 422],
      },
      { params: UserParams, body: Type.Object({ roles: Roles }, { additionalProperties: false }), response: { 200: UserSchema } },
    ),
    async (request) => userJson(await setUserRoles(deps, request.params.user_id, request.body.roles, callerOf(request).actor)),
  )

  app.post(
    '/users/:user_id/disable',
    adminRoute(
      'admin:write',
      {
        operationId: 'disableUser',
        summary: 'Disable: sessions end (relying parties get logout tokens), grants and tokens are revoked',
        tags: TAGS,
        problems: [404],
      },
      { params: UserParams, response: { 200: UserSchema } },
    ),
    async (request) => userJson(await disableUser(deps, request.params.user_id, callerOf(request).actor)),
  )

  app.post(
    '/users/:user_id/enable',
    adminRoute(
      'admin:write',
      { operationId: 'enableUser', summary: 'Let a disabled user sign in again', tags: TAGS, problems: [404] },
      { params: UserParams, response: { 200: UserSchema } },
    ),
    async (request) => userJson(await enableUser(deps, request.params.user_id, callerOf(request).actor)),
  )

  app.post(
    '/users/:user_id/reset-factors',
    adminRoute(
      'admin:write',
      {
        operationId: 'resetUserFactors',
        summary: 'Remove every passkey, the authenticator app and the recovery codes (the user is told by mail)',
        tags: TAGS,
        problems: [404],
      },
      { params: UserParams, response: { 200: Type.Object({ user_id: Type.String(), removed: Factors }) } },
    ),
    async (request) => {
      const { user, removed } = await resetUserFactors(deps, request.params.user_id, callerOf(request).actor)
      return { user_id: user.id, removed: factorsJson(removed) }
    },
  )

  app.get(
    '/users/:user_id/export',
    adminRoute(
      'admin:read',
      {
        operationId: 'exportUser',
        summary: "The user's data as one JSON document (GDPR access and portability); audited",
        tags: TAGS,
        problems: [404],
      },
      {
        params: UserParams,
        response: {
          200: Type.Object(
            {},
            {
              additionalProperties: true,
              description:
                'format "tessera-user-data", version, profile, roles, second factors (never a key or secret), sessions, consents, grants, linked identities, security events',
            },
          ),
        },
      },
    ),
    async (request, reply) => {
      const document = await exportUserData(deps, request.params.user_id, callerOf(request).actor)
      return reply
        .header('content-disposition', `attachment; filename="user-${request.params.user_id.replace(/[^A-Za-z0-9_-]/g, '')}.json"`)
        .send(document)
    },
  )

  app.delete(
    '/users/:user_id',
    adminRoute(
      'admin:write',
      {
        operationId: 'deleteUser',
        summary: 'Delete the user with all their data; their sessions end first as a logout would',
        tags: TAGS,
        problems: [404],
      },
      { params: UserParams, response: { 204: NoContent } },
    ),
    async (request, reply) => {
      await deleteUser(deps, request.params.user_id, callerOf(request).actor)
      return reply.code(204).send(null)
    },
  )
}
