import t from 'tap'
import { OAuthError } from '../../../src/errors/oauth-error.js'
import { challenge, describeProblem, Problem, problemBody } from '../../../src/errors/problem.js'
import { RateLimited } from '../../../src/errors/to-response.js'

t.test('a problem body has type, title, status, detail and its extensions (RFC 9457 §3)', async (t) => {
  const problem = new Problem(409, 'too-early', 'retry in 30s', { extensions: { wait_seconds: 30 }, headers: { 'retry-after': '30' } })
  t.same(problemBody(problem), {
    wait_seconds: 30,
    type: 'urn:tessera:problem:too-early',
    title: 'Not yet',
    status: 409,
    detail: 'retry in 30s',
  })
  t.same(describeProblem(problem), { problem, expected: true })
})

t.test('OAuth token errors keep their challenge (RFC 6750 §3)', async (t) => {
  const { problem } = describeProblem(new OAuthError('invalid_token', 'the access token is "bad"', { detail: 'expired' }))
  t.equal(problem.status, 401)
  t.equal(problem.kind, 'invalid-token')
  t.equal(
    problem.headers['www-authenticate'],
    'Bearer realm="tessera", error="invalid_token", error_description="the access token is ?bad?"',
  )
  t.equal(problem.logDetail, 'expired', 'the log-only detail is kept for the log')
  t.notMatch(JSON.stringify(problemBody(problem)), /expired/, 'and never sent')
  const dpop = describeProblem(
    new OAuthError('invalid_dpop_proof', 'a DPoP proof is required', { status: 401, challenge: 'DPoP', dpopNonce: 'n1' }),
  )
  t.match(dpop.problem.headers, { 'www-authenticate': /^DPoP realm="tessera", error="invalid_dpop_proof".*, algs="/, 'dpop-nonce': 'n1' })
  t.equal(
    challenge('Bearer', { error: 'insufficient_scope', scope: 'admin:write' }),
    'Bearer realm="tessera", error="insufficient_scope", scope="admin:write"',
  )
  t.equal(describeProblem(new OAuthError('invalid_request', 'NUL')).problem.status, 400)
})

t.test('schema failures name each member; anything unexpected is a fixed 500', async (t) => {
  const validation = Object.assign(new Error('body/name must be string'), {
    statusCode: 400,
    validation: [
      { instancePath: '/name', message: 'Expected string', keyword: 'type', schemaPath: '', params: {} },
      {
        instancePath: '',
        message: 'must have required property',
        keyword: 'required',
        schemaPath: '',
        params: { missingProperty: 'email' },
      },
    ],
    validationContext: 'body',
  })
  t.same(describeProblem(validation).problem.errors, [
    { pointer: '#/name', detail: 'Expected string' },
    { pointer: '#/email', detail: 'must have required property' },
  ])
  const query = Object.assign(new Error('x'), {
    validation: [{ instancePath: '/limit', message: 'Expected integer', keyword: 'type', schemaPath: '', params: {} }],
    validationContext: 'querystring',
  })
  t.same(describeProblem(query).problem.errors, [{ parameter: 'limit', detail: 'Expected integer' }])
  const unexpected = describeProblem(new Error('SQLITE_ERROR: no such table /srv/tessera/data'))
  t.equal(unexpected.expected, false)
  t.same(problemBody(unexpected.problem), {
    type: 'urn:tessera:problem:server-error',
    title: 'Something went wrong',
    status: 500,
    detail: 'The server could not complete the request.',
  })
  const limited = describeProblem(new RateLimited(12)).problem
  t.match(limited, { status: 429, kind: 'rate-limited', headers: { 'retry-after': '12' } })
})
