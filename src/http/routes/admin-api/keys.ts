/**
 * /admin/api/v1/keys: the signing keys (never private material), routine or emergency rotation and
 * break-glass revocation, through keys/operations.ts. The JWKS follows at once on this instance and
 * within KEY_REFRESH_INTERVAL on the others.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../../deps.js'
import { listSigningKeys, revokeSigningKey, rotateSigningKeys } from '../../../keys/operations.js'
import { callerOf } from './caller.js'
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageOfList } from './pagination.js'
import { adminRoute, iso, isoOrNull, NullableTimestamp, PageOf, Timestamp } from './schemas.js'

const TAGS = ['Signing keys']

const KeySchema = Type.Object({
  kid: Type.String(),
  state: Type.Union(
    ['next', 'active', 'retired', 'revoked', 'archived'].map((state) => Type.Literal(state)),
    {
      description: 'next: published, signs after the next rotation; active: signs; retired: published until its tokens expire',
    },
  ),
  alg: Type.String(),
  created_at: Timestamp('When the key was made'),
  activated_at: NullableTimestamp('When it began to sign'),
  retires_at: NullableTimestamp('When it leaves the JWKS'),
})

export const keyRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.get(
    '/keys',
    adminRoute(
      'admin:read',
      { operationId: 'listKeys', summary: 'Every signing key with its state and times (no private material)', tags: TAGS },
      { querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: PageOf(KeySchema, 'A page of keys') } },
    ),
    async (request) => {
      const page = pageOfList(
        await listSigningKeys(deps),
        request.query.limit ?? DEFAULT_LIMIT,
        (key) => [key.createdAt, key.kid],
        decodeCursor(request.query.cursor, ['number', 'string'] as const),
      )
      return {
        items: page.items.map((key) => ({
          kid: key.kid,
          state: key.state,
          alg: key.alg,
          created_at: iso(key.createdAt),
          activated_at: isoOrNull(key.activatedAt),
          retires_at: isoOrNull(key.retiresAt),
        })),
        next_cursor: page.nextCursor,
      }
    },
  )

  app.post(
    '/keys/rotate',
    adminRoute(
      'admin:write',
      {
        operationId: 'rotateKeys',
        summary: 'Rotate: the next key signs, the active one retires (published until its tokens expire)',
        description:
          'A routine rotation answers 409 (Retry-After, `wait_seconds`) until the next key has been published for KEY_REFRESH_INTERVAL + CLOCK_SKEW; `immediately` skips the wait in an emergency.',
        tags: TAGS,
        problems: [409],
      },
      {
        body: Type.Object(
          { immediately: Type.Optional(Type.Boolean({ description: 'Promote without waiting (emergencies only)' })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            active_kid: Type.String({ description: 'The key that signs from now on' }),
            warning: Type.Union([Type.String(), Type.Null()], {
              description: 'Why some resource servers may reject new tokens for a while',
            }),
          }),
        },
      },
    ),
    async (request) => {
      const rotation = await rotateSigningKeys(deps, { immediately: request.body.immediately === true, actor: callerOf(request).actor })
      return { active_kid: rotation.activeKid, warning: rotation.warning }
    },
  )

  app.post(
    '/keys/:kid/revoke',
    adminRoute(
      'admin:write',
      {
        operationId: 'revokeKey',
        summary: 'Break-glass: withdraw a key from the JWKS at once; its tokens stop verifying',
        tags: TAGS,
        problems: [404],
      },
      {
        params: Type.Object({ kid: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 200: Type.Object({ revoked: Type.String(), active_kid: Type.String() }) },
      },
    ),
    async (request) => {
      const revocation = await revokeSigningKey(deps, request.params.kid, callerOf(request).actor)
      return { revoked: revocation.revoked, active_kid: revocation.activeKid }
    },
  )
}
