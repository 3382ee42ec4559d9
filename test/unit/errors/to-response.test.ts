import t from 'tap'
import Fastify from 'fastify'
import { OAuthError, PageError } from '../../../src/errors/oauth-error.js'
import { describeError, RateLimited, sendError } from '../../../src/errors/to-response.js'

t.test('OAuth errors: status, Retry-After when given, WWW-Authenticate for invalid_client', async (t) => {
  const throttled = describeError(new OAuthError('invalid_client', 'too many failures', { status: 429, retryAfterSeconds: 61.2 }))
  t.match(throttled, { view: { status: 429, error: 'invalid_client' }, headers: { 'retry-after': '62' } })
  t.notOk('www-authenticate' in throttled.headers, 'a 429 is not a challenge')
  t.match(describeError(new OAuthError('invalid_client', 'client authentication failed')).headers, { 'www-authenticate': /^Basic / })
  t.match(describeError(new OAuthError('unmet_authentication_requirements', 'x')).view, {
    status: 400,
    error: 'unmet_authentication_requirements',
  })
  t.match(describeError(new RateLimited(120)).view, { status: 429, error: 'temporarily_unavailable', description: /2 minutes/ })
})

t.test('an error page whose template fails is a fixed page, never the internal message', async (t) => {
  const app = Fastify({ logger: false })
  app.get('/page', { config: { page: true } as never }, async () => {
    throw new PageError(400, 'errors.refused')
  })
  app.setErrorHandler((error, request, reply) =>
    sendError(error, request, reply, () => {
      throw new TypeError('secret internal detail in a template')
    }),
  )
  const response = await app.inject({ method: 'GET', url: '/page' })
  t.equal(response.statusCode, 400, 'the status is kept')
  t.match(response.headers['content-type'], /text\/html/)
  t.notMatch(response.body, 'secret internal detail', 'the template’s error does not leak')
  t.match(response.body, 'Something went wrong')
  await app.close()
})
