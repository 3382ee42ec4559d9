import t from 'tap'
import { OAuthError } from '../../../src/errors/oauth-error.js'
import { oauthError } from '../fixtures/index.js'
import { findDuplicate, rejectDuplicates, single } from '../../../src/oauth/params.js'

t.test('findDuplicate', async (t) => {
  t.equal(findDuplicate({ a: '1', b: '2' }), undefined)
  t.equal(findDuplicate({ a: '1', b: ['2', '3'] }), 'b')
  t.equal(findDuplicate({ a: ['1', '1'] }), 'a', 'identical repeated values are still a duplicate')
  t.equal(findDuplicate({ a: ['', ''] }), 'a', 'repeated empty values are still a duplicate')
  t.equal(findDuplicate({ a: ['1', '2'], b: '3' }, ['b']), undefined, 'only the named parameters are checked')
  t.equal(findDuplicate({ a: ['1', '2'], b: '3' }, ['b', 'a']), 'a')
  t.equal(findDuplicate({}, ['client_id']), undefined, 'absent parameters are not duplicates')
})

t.test('rejectDuplicates', async (t) => {
  t.doesNotThrow(() => rejectDuplicates({ client_id: 'c', scope: 'openid' }))
  const error = t.throws(
    () => rejectDuplicates({ client_id: 'c', scope: ['openid', 'email'] }),
    oauthError('invalid_request'),
  ) as OAuthError
  t.match(error.description, /scope/, 'the description names the parameter')
  t.equal(error.status, 400)
  const odd = t.throws(() => rejectDuplicates({ ['<script>x</script>']: ['1', '2'] })) as OAuthError
  t.equal(odd.error, 'invalid_request')
  t.notMatch(odd.description, /<script>/, 'an attacker-chosen parameter name is not echoed')
})

t.test('single', async (t) => {
  t.equal(single({ a: 'x' }, 'a'), 'x')
  t.equal(single({ a: 'x' }, 'b'), undefined, 'absent')
  t.equal(single({ a: '' }, 'a'), undefined, 'empty counts as absent (RFC 6749 §3.1)')
  t.equal(single({ a: undefined }, 'a'), undefined)
  t.equal(single({ a: ['x', 'y'] }, 'a'), undefined, 'a repeated parameter never yields a value')
  t.equal(single({ a: ' ' }, 'a'), ' ', 'whitespace is a value, kept byte for byte')
  t.equal(single({ a: 'x+y z' }, 'a'), 'x+y z')
})
