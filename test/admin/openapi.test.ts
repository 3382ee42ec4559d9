/**
 * /admin/api/openapi.json: valid OpenAPI 3.1 (checked by @readme/openapi-parser against the
 * specification's schema), public, and complete: every route the admin API registers is in it with
 * its operationId, tags, summary, the scope it needs and its problem responses.
 */
import t from 'tap'
import Fastify from 'fastify'
import { compileErrors, validate } from '@readme/openapi-parser'
import { adminApiRoutes } from '../../src/http/routes/admin-api/index.js'
import { createTestApp } from '../helpers/test-app.js'

interface Operation {
  operationId?: string
  tags?: string[]
  summary?: string
  security?: Record<string, string[]>[]
  responses: Record<string, { content?: Record<string, unknown> }>
}
interface Document {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { securitySchemes: Record<string, { type: string; flows: { clientCredentials: { tokenUrl: string; scopes: object } } }> }
}

const ctx = await createTestApp()
t.teardown(() => ctx.close())

const served = await ctx.app.inject({ method: 'GET', url: '/admin/api/openapi.json' })
const document = served.json<Document>()

t.test('the document is public, valid OpenAPI 3.1', async (t) => {
  t.equal(served.statusCode, 200, 'no token needed')
  t.match(served.headers['content-type'], /^application\/json/)
  t.equal(document.openapi, '3.1.0')
  const result = await validate(structuredClone(document) as never)
  t.ok(result.valid, result.valid ? 'valid' : compileErrors(result))
  t.match(document.components.securitySchemes['oauth2']?.flows.clientCredentials, {
    tokenUrl: `${ctx.issuer}/token`,
    scopes: { 'admin:read': String, 'admin:write': String },
  })
  t.match(document.components.securitySchemes['oauth2'], { type: 'oauth2' })
})

t.test('every route of the admin API is in it, described', async (t) => {
  // The plugin registered on its own, to see every route it adds.
  const routes: { method: string; url: string }[] = []
  const probe = Fastify()
  probe.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url })
  })
  await probe.register(adminApiRoutes, { prefix: '/admin/api', deps: ctx.deps, securityHeaders: {} })
  await probe.ready()
  await probe.close()
  const api = routes.filter((route) => route.url.startsWith('/admin/api/v1/') && route.method !== 'HEAD')
  t.ok(api.length >= 25, `${api.length} routes`)
  const operationIds = new Set<string>()
  for (const route of api) {
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}')
    const operation = document.paths[path]?.[route.method.toLowerCase()]
    t.ok(operation, `${route.method} ${path} is documented`)
    if (!operation) continue
    t.ok(operation.operationId && operation.tags?.length && operation.summary, `${route.method} ${path}: operationId, tags, summary`)
    t.notOk(operationIds.has(operation.operationId!), `${operation.operationId} is unique`)
    operationIds.add(operation.operationId!)
    const scope = route.method === 'GET' ? 'admin:read' : 'admin:write'
    t.same(operation.security, [{ oauth2: [scope] }], `${route.method} ${path} needs ${scope}`)
    for (const status of ['400', '401', '403'])
      t.ok(operation.responses[status]?.content?.['application/problem+json'], `${route.method} ${path} answers ${status} as a problem`)
  }
  const documented = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method} ${path}`))
  t.equal(documented.length, api.length, 'and nothing else is')
})
