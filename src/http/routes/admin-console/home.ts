/** The console's first page: who is signed in, the clients, the signing key and the latest security events. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../../deps.js'
import { listSigningKeys } from '../../../keys/operations.js'
import type { Views } from '../../views/render.js'
import { describeEvents } from './audit.js'
import { adminOf, consoleWords, inWords, sendConsolePage } from './support.js'

/** Security events on the first page; the audit page has the rest. */
const RECENT_EVENTS = 8

export const homePage: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  app.get('/admin', { schema: { querystring: Type.Object({}) }, config: { page: true } }, async (request, reply) => {
    const admin = adminOf(request)
    const words = consoleWords(deps, request)
    const [clients, keys, events] = await Promise.all([
      deps.repos.clients.list(),
      listSigningKeys(deps),
      deps.repos.auditEvents.list({ limit: RECENT_EVENTS }),
    ])
    const active = keys.find((key) => key.state === 'active')
    return sendConsolePage(views, reply, words, 'admin-home', {
      title: words.t('console.home.title'),
      section: 'home',
      adminEmail: admin.user.email,
      clientCount: clients.length,
      activeKey: active ? { kid: active.kid, age: inWords(words, deps.clock.now() - (active.activatedAt ?? active.createdAt)) } : null,
      events: await describeEvents(deps, words, events),
    })
  })
}
