import t from 'tap'
import { checkWebUrl, isLocalIssuer, isLoopbackHost } from '../../../src/oauth/web-url.js'

const problem = (value: string, rules?: Parameters<typeof checkWebUrl>[1]) => checkWebUrl(value, rules).problem

t.test('isLoopbackHost: the loopback names and addresses only, as URLs spell them', async (t) => {
  for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '[::1]']) t.ok(isLoopbackHost(host), host)
  for (const host of ['localhost.evil.test', 'evil-localhost', '127.0.0.2', '::1', '0.0.0.0', 'example.com', ''])
    t.notOk(isLoopbackHost(host), host)
  t.ok(isLoopbackHost(new URL('http://[0:0:0:0:0:0:0:1]:8080/').hostname), 'IPv6 written long is normalised by URL')
})

t.test('checkWebUrl: https anywhere, http on loopback only, by default', async (t) => {
  t.equal(checkWebUrl('https://rp.example/logout?x=1').url?.href, 'https://rp.example/logout?x=1')
  for (const url of ['http://localhost:8080/cb', 'http://127.0.0.1/cb', 'http://[::1]:3000/cb', 'https://localhost/cb'])
    t.equal(problem(url), null, url)
  for (const url of ['http://rp.example/cb', 'http://localhost.evil.test/cb', 'ftp://rp.example/x', 'javascript:alert(1)'])
    t.equal(problem(url), 'not_https', url)
  for (const url of ['/relative', 'not a url', '', 'https//missing-colon']) t.equal(problem(url), 'not_absolute', url)
})

t.test('checkWebUrl rules: no loopback at all, or loopback only over https', async (t) => {
  t.equal(problem('https://localhost/cb', { loopback: false }), 'loopback')
  t.equal(problem('http://127.0.0.1/cb', { loopback: false }), 'loopback', 'loopback is named before the scheme')
  t.equal(problem('https://rp.example/cb', { loopback: false }), null)
  t.equal(problem('http://127.0.0.1/cb', { loopbackHttp: false }), 'not_https')
  t.equal(problem('https://127.0.0.1/cb', { loopbackHttp: false }), null)
})

t.test('isLocalIssuer: an issuer on localhost, 127.0.0.1 or [::1]', async (t) => {
  t.ok(isLocalIssuer('http://localhost:3000'))
  t.ok(isLocalIssuer('http://127.0.0.1:9999/tenant'))
  t.notOk(isLocalIssuer('https://id.example'))
  t.notOk(isLocalIssuer('https://localhost.id.example'))
  t.notOk(isLocalIssuer('not a url'))
})
