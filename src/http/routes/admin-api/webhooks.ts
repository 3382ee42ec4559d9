/**
 * /admin/api/v1/webhooks: event webhooks through webhooks/registry.ts, as `idp webhooks` manages
 * them. The signing secret is in the creation answer only (and in its idempotent replay to the
 * same client); lists and reads never carry it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../../deps.js'
import type { Webhook } from '../../../model/webhook.js'
import { WEBHOOK_EVENT_TYPES } from '../../../webhooks/catalogue.js'
import { addWebhook, removeWebhook, setWebhookEnabled, WebhookProblem } from '../../../webhooks/registry.js'
import { callerOf } from './caller.js'
import { IdempotencyHeaders, idempotent, sendCreated } from './idempotency.js'
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageOfList } from './pagination.js'
import { adminRoute, iso, isoOrNull, NoContent, NullableTimestamp, PageOf, Timestamp } from './schemas.js'

const TAGS = ['Webhooks']

const WebhookSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String(), { description: 'Event types, categories like `user.*`, or `*`' }),
  enabled: Type.Boolean(),
  disabled_at: NullableTimestamp('When it was disabled'),
  created_at: Timestamp('When it was added'),
})

const CreatedWebhook = Type.Object({
  ...WebhookSchema.properties,
  secret: Type.String({ description: 'The signing secret (`whsec_…`, Standard Webhooks), shown in this answer only' }),
})

const WebhookCreate = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2000, description: 'https (http only on a loopback host while ISSUER is on localhost)' }),
    events: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
      minItems: 1,
      maxItems: 100,
      description: `Any of: ${WEBHOOK_EVENT_TYPES.join(', ')}; a category like user.*; or *`,
    }),
  },
  { additionalProperties: false },
)

const WebhookParams = Type.Object({ webhook_id: Type.String({ minLength: 1, maxLength: 100 }) })

const webhookJson = (webhook: Webhook) => ({
  id: webhook.id,
  url: webhook.url,
  events: [...webhook.events],
  enabled: webhook.disabledAt === null,
  disabled_at: isoOrNull(webhook.disabledAt),
  created_at: iso(webhook.createdAt),
})

export const webhookRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.post(
    '/webhooks',
    adminRoute(
      'admin:write',
      { operationId: 'createWebhook', summary: 'Add a webhook; the answer carries its signing secret, once', tags: TAGS, problems: [422] },
      { body: WebhookCreate, headers: IdempotencyHeaders, response: { 201: CreatedWebhook } },
    ),
    async (request, reply) => {
      const { actor } = callerOf(request)
      const body = request.body
      const answer = await idempotent(deps, request, actor, async () => {
        const { webhook, secret } = await addWebhook(deps, { url: body.url, events: body.events }, actor)
        return { status: 201 as const, body: { ...webhookJson(webhook), secret } }
      })
      return sendCreated(deps, request, reply, answer, (created) => created.id)
    },
  )

  app.get(
    '/webhooks',
    adminRoute(
      'admin:read',
      { operationId: 'listWebhooks', summary: 'List the webhooks, oldest first', tags: TAGS },
      {
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: PageOf(WebhookSchema, 'A page of webhooks') },
      },
    ),
    async (request) => {
      const page = pageOfList(
        await deps.repos.webhooks.list(),
        request.query.limit ?? DEFAULT_LIMIT,
        (webhook) => [webhook.createdAt, webhook.id],
        decodeCursor(request.query.cursor, ['number', 'string'] as const),
      )
      return { items: page.items.map(webhookJson), next_cursor: page.nextCursor }
    },
  )

  app.get(
    '/webhooks/:webhook_id',
    adminRoute(
      'admin:read',
      { operationId: 'getWebhook', summary: 'Read a webhook', tags: TAGS, problems: [404] },
      { params: WebhookParams, response: { 200: WebhookSchema } },
    ),
    async (request) => {
      const webhook = await deps.repos.webhooks.find(request.params.webhook_id)
      if (!webhook) throw new WebhookProblem('unknown_webhook', 'no webhook with this id')
      return webhookJson(webhook)
    },
  )

  for (const [action, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    app.post(
      `/webhooks/:webhook_id/${action}`,
      adminRoute(
        'admin:write',
        {
          operationId: `${action}Webhook`,
          summary: enabled ? 'Resume deliveries to a webhook' : 'Stop deliveries: no events are queued for it, queued ones are given up',
          tags: TAGS,
          problems: [404],
        },
        { params: WebhookParams, response: { 200: WebhookSchema } },
      ),
      async (request) => webhookJson(await setWebhookEnabled(deps, request.params.webhook_id, enabled, callerOf(request).actor)),
    )
  }

  app.delete(
    '/webhooks/:webhook_id',
    adminRoute(
      'admin:write',
      {
        operationId: 'deleteWebhook',
        summary: 'Remove a webhook; deliveries still queued for it are given up',
        tags: TAGS,
        problems: [404],
      },
      { params: WebhookParams, response: { 204: NoContent } },
    ),
    async (request, reply) => {
      await removeWebhook(deps, request.params.webhook_id, callerOf(request).actor)
      return reply.code(204).send(null)
    },
  )
}
