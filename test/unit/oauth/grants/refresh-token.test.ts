import t from 'tap'
import {
  checkRefreshToken,
  lostRotationCause,
  refreshedScope,
  type PresentedRefreshToken,
} from '../../../../src/oauth/grants/refresh-token.js'
import type { Grant } from '../../../../src/model/grant.js'
import { makeClient, oauthError } from '../../fixtures/index.js'

const NOW = 1_700_000_000
const client = makeClient()
const grant: Grant = {
  id: 'g1',
  userId: 'u1',
  clientId: client.id,
  sessionIdHash: null,
  scope: 'openid offline_access',
  authTime: NOW - 100,
  createdAt: NOW - 100,
  revokedAt: null,
  offline: true,
  expiresAt: NOW + 3600,
  amr: ['pwd'],
  resources: [],
  dpopJkt: null,
}
const token: PresentedRefreshToken = {
  grantId: 'g1',
  clientId: client.id,
  issuedAt: NOW - 10,
  idleExpiresAt: NOW + 600,
  superseded: false,
}

t.test('a live token: the narrowed token and grant come back', async (t) => {
  const check = checkRefreshToken(token, grant, client, NOW)
  t.equal(check.kind, 'ok')
  if (check.kind === 'ok') {
    t.equal(check.token, token)
    t.equal(check.grant.expiresAt, NOW + 3600, 'expiresAt is known to be a number')
  }
})

t.test('RFC 9700 §4.14.2: a rotated token presented again is reuse (its grant is named for revocation)', async (t) => {
  t.same(checkRefreshToken({ ...token, superseded: true }, grant, client, NOW), { kind: 'reuse', grant })
})

t.test('refusals', async (t) => {
  t.throws(() => checkRefreshToken(undefined, grant, client, NOW), oauthError('invalid_grant'), 'unknown token')
  t.throws(() => checkRefreshToken(token, grant, makeClient({ id: 'other' }), NOW), oauthError('invalid_grant'), 'another client')
  t.throws(() => checkRefreshToken(token, { ...grant, revokedAt: NOW - 1 }, client, NOW), oauthError('invalid_grant'), 'revoked family')
  t.throws(() => checkRefreshToken(token, { ...grant, expiresAt: NOW }, client, NOW), oauthError('invalid_grant'), 'absolute lifetime over')
  t.throws(
    () => checkRefreshToken(token, { ...grant, expiresAt: null }, client, NOW),
    oauthError('invalid_grant'),
    'a grant without a family',
  )
  t.throws(() => checkRefreshToken({ ...token, idleExpiresAt: NOW }, grant, client, NOW), oauthError('invalid_grant'), 'idle too long')
})

t.test('RFC 6749 §6: a narrower scope is fine, a wider one is invalid_scope', async (t) => {
  t.equal(refreshedScope('openid email offline_access', undefined), 'openid email offline_access')
  t.equal(refreshedScope('openid email offline_access', 'openid'), 'openid')
  t.throws(() => refreshedScope('openid', 'openid email'), oauthError('invalid_scope'))
})

t.test('a lost rotation is reuse when the family moved on, not when the grant ended meanwhile', async (t) => {
  const at = (generation: number) => ({ generation })
  t.equal(lostRotationCause(at(3), { revokedAt: null, refresh: at(4) }), 'reuse', 'rotated by another use')
  t.equal(lostRotationCause(at(3), { revokedAt: NOW, refresh: at(4) }), 'reuse', 'rotated first, revoked after')
  t.equal(lostRotationCause(null, { revokedAt: NOW, refresh: at(1) }), 'reuse', 'a stored token moved to generations first')
  t.equal(lostRotationCause(at(3), { revokedAt: NOW, refresh: at(3) }), 'ended', 'revoked meanwhile')
  t.equal(lostRotationCause(null, { revokedAt: NOW, refresh: null }), 'ended', 'a stored token’s grant revoked meanwhile')
  t.equal(lostRotationCause(at(3), undefined), 'ended', 'the grant is gone (its user deleted)')
  t.equal(lostRotationCause(at(3), { revokedAt: null, refresh: at(3) }), 'reuse', 'neither: the safe side')
})
