import t from 'tap'
import { BACKCHANNEL_LOGOUT_EVENT, backchannelLogoutUriProblem, logoutTokenClaims } from '../../../src/oauth/backchannel-logout.js'

t.test('logoutTokenClaims: OpenID Connect Back-Channel Logout 1.0 §2.4', async (t) => {
  const claims = logoutTokenClaims({
    issuer: 'https://id.example',
    clientId: 'client-a',
    subject: 'user-1',
    sid: 'sid-1',
    jti: 'jti-1',
    now: 1_700_000_000,
  })
  t.same(claims, {
    iss: 'https://id.example',
    aud: 'client-a',
    iat: 1_700_000_000,
    exp: 1_700_000_120,
    jti: 'jti-1',
    sub: 'user-1',
    sid: 'sid-1',
    events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
  })
  t.equal(BACKCHANNEL_LOGOUT_EVENT, 'http://schemas.openid.net/event/backchannel-logout')
  t.notOk('nonce' in claims, '§2.4: a logout token never has a nonce')
  t.equal(logoutTokenClaims({ issuer: 'i', clientId: 'c', subject: 's', sid: 'x', jti: 'j', now: 10, ttl: 5 }).exp, 15)
})

t.test('backchannelLogoutUriProblem: https; http only on loopback and only with a localhost issuer', async (t) => {
  const operator = (issuer: string) => ({ issuer, selfDescribed: false })
  const client = (issuer: string) => ({ issuer, selfDescribed: true })
  const accepted: [string, { issuer: string; selfDescribed: boolean }][] = [
    ['https://rp.example/logout', operator('https://id.example')],
    ['https://rp.example:8443/bc?tenant=a', client('https://id.example')],
    ['http://127.0.0.1:4000/logout', operator('http://localhost:3000')],
    ['http://localhost:4000/logout', client('http://127.0.0.1:3000')],
    ['http://[::1]:4000/logout', operator('http://127.0.0.1:3000')],
    ['https://localhost/logout', operator('https://id.example')],
  ]
  for (const [uri, context] of accepted) t.equal(backchannelLogoutUriProblem(uri, context), null, `${uri} (${JSON.stringify(context)})`)
  const refused: [string, { issuer: string; selfDescribed: boolean }, RegExp][] = [
    ['http://rp.example/logout', operator('https://id.example'), /https/],
    ['http://rp.example/logout', operator('http://localhost:3000'), /https \(http only on a loopback host\)/],
    ['http://127.0.0.1:4000/logout', operator('https://id.example'), /while the issuer is on localhost/],
    ['http://localhost.evil.test/logout', operator('http://localhost:3000'), /https/],
    ['https://localhost/logout', client('https://id.example'), /loopback/],
    ['https://rp.example/logout#x', operator('https://id.example'), /fragment/],
    ['https://a:b@rp.example/logout', operator('https://id.example'), /credentials/],
    ['logout', operator('https://id.example'), /absolute/],
  ]
  for (const [uri, context, reason] of refused) t.match(backchannelLogoutUriProblem(uri, context)?.text, reason, `${uri} refused`)
})
