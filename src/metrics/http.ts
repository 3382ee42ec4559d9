/**
 * Request metrics for the app, installed by buildApp only when metrics are on. Each route gets its
 * own onResponse hook when it is registered, bound to its pattern's recorder: a request costs one
 * call, no route lookup and no label building. Requests no route matched are counted under one
 * pattern, `(unmatched)`, never under their URL.
 */
import type { FastifyInstance, onResponseHookHandler } from 'fastify'
import type { Metrics } from './metrics.js'

const RECORDER = Symbol('tessera request metrics')

type Recorder = onResponseHookHandler & { [RECORDER]?: true }

export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRoute', (route) => {
    const existing = route.onResponse === undefined ? [] : [route.onResponse].flat()
    // A HEAD route made from a GET route may come with the GET route's hooks.
    if (existing.some((hook) => (hook as Recorder)[RECORDER] === true)) return
    const series = metrics.route(route.url)
    const record: Recorder = (request, reply, done) => {
      series.observe(request.method, reply.statusCode, reply.elapsedTime / 1000)
      done()
    }
    record[RECORDER] = true
    route.onResponse = [...existing, record]
  })
  // The not-found handler has no route of its own: a hook for every request, doing nothing unless
  // no route matched.
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) metrics.unmatched.observe(request.method, reply.statusCode, reply.elapsedTime / 1000)
    done()
  })
}
