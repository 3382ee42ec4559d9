import fs from 'node:fs'
import { sql } from 'kysely'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

import type { Deps } from '../../deps.js'

const STYLESHEET = fs.readFileSync(new URL('../assets/style.css', import.meta.url), 'utf8')

/** Health check for load balancers and the Docker HEALTHCHECK, and the one stylesheet. */
export const miscRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.get('/healthz', async (_request, reply) => {
    await sql`select 1`.execute(deps.db)
    deps.keys.signingKey()
    return reply.header('cache-control', 'no-store').send({ status: 'ok' })
  })

  app.get('/assets/style.css', async (_request, reply) => {
    return reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(STYLESHEET)
  })

  app.get('/', async (_request, reply) => {
    return reply.type('application/json; charset=utf-8').send({ issuer: deps.config.issuer, discovery: `${deps.config.issuer}/.well-known/openid-configuration` })
  })
}
