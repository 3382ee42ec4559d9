/**
 * The device cookie's trust boundary (OWASP device cookies): only a cookie Tessera signed, naming
 * the account, makes a browser trusted for it; a forged, altered or foreign one is an unknown
 * browser. A real Fastify with @fastify/cookie signs and reads it, as in the server.
 */
import cookie from '@fastify/cookie'
import Fastify from 'fastify'
import t from 'tap'
import { readDeviceCookie, rememberDevice, trustedDeviceFor } from '../../../src/http/device-cookie.js'
import { withCharacterChanged } from '../../helpers/forgery.js'

const app = Fastify()
await app.register(cookie, { secret: 'a test signing key of enough length' })
app.post<{ Body: { email: string } }>('/remember', async (request, reply) => {
  rememberDevice(reply, false, readDeviceCookie(request, false), request.body.email)
  return {}
})
app.post<{ Body: { email: string } }>('/trusted', async (request) => ({
  device: trustedDeviceFor(readDeviceCookie(request, false), request.body.email),
}))
t.teardown(() => app.close())

const cookieOf = (setCookie: string | string[] | undefined): string => String(setCookie).split(';')[0]!
const remember = async (email: string, jar = ''): Promise<string> =>
  cookieOf((await app.inject({ method: 'POST', url: '/remember', payload: { email }, headers: { cookie: jar } })).headers['set-cookie'])
const trusted = async (email: string, jar: string): Promise<string | null> =>
  (await app.inject({ method: 'POST', url: '/trusted', payload: { email }, headers: { cookie: jar } })).json().device

t.test('a signed cookie trusts its browser for the accounts it names, in any spelling', async (t) => {
  const jar = await remember('ada@example.com')
  const device = await trusted('ada@example.com', jar)
  t.match(device, /^[A-Za-z0-9_-]{16,}$/, 'trusted: the device id')
  t.equal(await trusted('  ADA@Example.com ', jar), device, 'the canonical address counts')
  t.equal(await trusted('bob@example.com', jar), null, 'another account: an unknown browser')
  t.notOk(decodeURIComponent(jar).includes('ada'), 'no address in the clear')
  const second = await remember('bob@example.com', jar)
  t.equal(await trusted('bob@example.com', second), device, 'the same device id for a second account')
  t.equal(await trusted('ada@example.com', second), device, 'and the first stays')
})

t.test('forged, altered or unsigned cookies are unknown browsers', async (t) => {
  const jar = await remember('ada@example.com')
  const [name, value] = jar.split('=') as [string, string]
  const decoded = decodeURIComponent(value)
  const [payload, signature] = [decoded.slice(0, decoded.lastIndexOf('.')), decoded.slice(decoded.lastIndexOf('.') + 1)]
  const forgedSignature = `${name}=${encodeURIComponent(`${payload}.${withCharacterChanged(signature, 10)}`)}`
  t.equal(await trusted('ada@example.com', forgedSignature), null, 'a wrong signature')
  const otherDevice = payload.replace(/^v1~[^~]+~/, 'v1~AAAAAAAAAAAAAAAAAAAAAA~')
  t.equal(await trusted('ada@example.com', `${name}=${encodeURIComponent(`${otherDevice}.${signature}`)}`), null, 'an altered device id')
  t.equal(await trusted('ada@example.com', `${name}=${encodeURIComponent(payload)}`), null, 'an unsigned value')
  t.equal(await trusted('ada@example.com', `${name}=${'x'.repeat(1200)}`), null, 'an oversized value')
  t.equal(await trusted('ada@example.com', `__Host-tessera_device=${value}`), null, 'the https name on an http issuer')
})

t.test('at most ten accounts: the least recent is forgotten', async (t) => {
  let jar = ''
  for (let n = 1; n <= 11; n += 1) jar = await remember(`user${n}@example.com`, jar)
  t.equal(await trusted('user1@example.com', jar), null, 'the first of eleven is gone')
  t.not(await trusted('user2@example.com', jar), null, 'the other ten stay')
  t.not(await trusted('user11@example.com', jar), null)
})
