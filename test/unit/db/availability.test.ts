import t from 'tap'
import { isDatabaseUnavailable } from '../../../src/db/availability.js'
import { describeError } from '../../../src/errors/to-response.js'

t.test('connection failures are recognised; ordinary errors are not', async (t) => {
  for (const code of ['ECONNREFUSED', 'ECONNRESET', '57P01', '08006', 'SQLITE_BUSY', 'SQLITE_IOERR_WRITE']) {
    t.ok(isDatabaseUnavailable(Object.assign(new Error('x'), { code })), code)
  }
  t.ok(isDatabaseUnavailable(new Error('Connection terminated unexpectedly')))
  t.ok(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect')))
  t.ok(
    isDatabaseUnavailable(
      new AggregateError([
        Object.assign(new Error('a'), { code: 'ECONNREFUSED' }),
        Object.assign(new Error('b'), { code: 'ECONNREFUSED' }),
      ]),
    ),
  )
  t.notOk(isDatabaseUnavailable(new AggregateError([])))
  t.notOk(
    isDatabaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' })),
    'a constraint violation is a bug or a race, not an outage',
  )
  t.notOk(isDatabaseUnavailable(new TypeError('x is undefined')))
  t.notOk(isDatabaseUnavailable('ECONNREFUSED'))
  t.notOk(isDatabaseUnavailable(null))
})

t.test('an unavailable database becomes 503 temporarily_unavailable with Retry-After, not 500', async (t) => {
  const described = describeError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))
  t.equal(described.view.status, 503)
  t.equal(described.view.error, 'temporarily_unavailable')
  t.equal(described.headers['retry-after'], '5')
  t.notMatch(described.view.description, /5432|ECONNREFUSED/, 'no connection details leak')
  t.equal(describeError(new Error('boom')).view.status, 500)
})
