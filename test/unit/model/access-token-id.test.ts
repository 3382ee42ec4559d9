import t from 'tap'
import { accessTokenId, accessTokenOwner } from '../../../src/model/access-token-id.js'

t.test('a jti names the grant or the client its revocation hangs on', async (t) => {
  t.equal(accessTokenId('Gr4nt_id-22charsXXXXXX', 'r4nd0m'), 'g.Gr4nt_id-22charsXXXXXX.r4nd0m')
  t.equal(accessTokenId(null, 'r4nd0m'), 'c.r4nd0m')
  t.same(accessTokenOwner('g.Gr4nt_id-22charsXXXXXX.r4nd0m'), { kind: 'grant', grantId: 'Gr4nt_id-22charsXXXXXX' })
  t.same(accessTokenOwner('c.r4nd0m'), { kind: 'client' })
})

t.test('anything else is the earlier format (looked up by its row), never a guess', async (t) => {
  for (const jti of [
    'Zx8kq0_random22charsAAA',
    'g.only-two',
    'g..r',
    'c.',
    'c.a.b',
    'g.a.b.c',
    'g.a b.c',
    'x.a.b',
    '',
    'g.a.' + 'b'.repeat(65),
  ])
    t.equal(accessTokenOwner(jti), null, JSON.stringify(jti))
})
