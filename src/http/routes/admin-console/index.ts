/**
 * The admin console at /admin: server-rendered pages for clients, users and their sessions,
 * signing keys and the audit log, in their own scope inside the browser pages (cookies,
 * anti-forgery tokens, CSP and the other page headers come from there). The scope's onRequest
 * hook (access.ts) admits only admins whose session used a second factor. Every change is a form
 * post calling the service the CLI and the admin API call, with the admin as its actor.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../../deps.js'
import type { Views } from '../../views/render.js'
import { adminGate } from './access.js'
import { auditPage } from './audit.js'
import { clientPages } from './clients.js'
import { homePage } from './home.js'
import { keyPages } from './keys.js'
import { sessionActions } from './sessions.js'
import { userPages } from './users.js'

export const adminConsoleRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  app.decorateRequest('consoleAdmin', null)
  app.addHook('onRequest', adminGate(deps))
  for (const pages of [homePage, clientPages, userPages, sessionActions, keyPages, auditPage]) await app.register(pages, { deps, views })
}
