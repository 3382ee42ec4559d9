/**
 * The SSRF guard for documents clients point Tessera at (client ID metadata documents, jwks_uri),
 * against a real HTTP server on loopback.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { cacheLifetime, checkDocumentUrl, DocumentUnavailable, fetchJsonDocument } from '../../../src/clients/document-fetch.js'

const open = { allowLoopback: true, maxBytes: 1024, timeoutMs: 5000 }
const closed = { ...open, allowLoopback: false }

async function serve(t: Test, handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  server.on('connection', (socket) => t.teardown(() => void socket.destroy()))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const refusal = (problem: RegExp) => ({ name: 'DocumentUnavailable', problem })

t.test('checkDocumentUrl: https only, no credentials or fragment, loopback only when allowed', async (t) => {
  t.equal(checkDocumentUrl('https://agent.example/client.json', closed).host, 'agent.example')
  t.equal(checkDocumentUrl('http://127.0.0.1:8080/c.json', open).port, '8080', 'loopback http when allowed')
  t.throws(() => checkDocumentUrl('http://agent.example/c.json', open), refusal(/https/))
  t.throws(() => checkDocumentUrl('https://user:pw@agent.example/c.json', open), refusal(/credentials/))
  t.throws(() => checkDocumentUrl('https://agent.example/c.json#x', open), refusal(/fragment/))
  t.throws(() => checkDocumentUrl('http://localhost:8080/c.json', closed), refusal(/loopback/))
  t.throws(() => checkDocumentUrl('not a url', open), refusal(/absolute/))
})

t.test('non-public addresses are refused before any connection', async (t) => {
  for (const url of [
    'https://127.0.0.1/c.json',
    'https://10.0.0.7/c.json',
    'https://192.168.1.1/c.json',
    'https://169.254.169.254/latest/meta-data',
    'https://100.64.0.1/c.json',
    'https://[::1]/c.json',
    'https://[fd00::1]/c.json',
    'https://[::ffff:169.254.169.254]/c.json',
    'https://0.0.0.0/c.json',
  ]) {
    await t.rejects(fetchJsonDocument(url, closed), DocumentUnavailable, url)
  }
})

t.test('a served document: JSON body and its cache lifetime', async (t) => {
  const base = await serve(t, (request, response) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (request.url === '/cached') headers['cache-control'] = 'public, max-age=600'
    if (request.url === '/no-store') headers['cache-control'] = 'no-store'
    response.writeHead(200, headers).end(JSON.stringify({ client_id: `${base}${request.url}` }))
  })
  t.same(await fetchJsonDocument(`${base}/cached`, open), { body: { client_id: `${base}/cached` }, maxAge: 600 })
  t.equal((await fetchJsonDocument(`${base}/no-store`, open)).maxAge, 0)
  t.equal((await fetchJsonDocument(`${base}/plain`, open)).maxAge, null)
})

t.test('redirects, errors, oversize, non-JSON and silence are refused', async (t) => {
  const base = await serve(t, (request, response) => {
    switch (request.url) {
      case '/redirect':
        return void response.writeHead(302, { location: 'http://169.254.169.254/' }).end()
      case '/missing':
        return void response.writeHead(404).end()
      case '/declared-large':
        return void response.writeHead(200, { 'content-length': '999999' }).end()
      case '/streamed-large':
        response.writeHead(200, { 'content-type': 'application/json' })
        response.write(`"${'x'.repeat(800)}`)
        return void response.end(`${'x'.repeat(800)}"`)
      case '/html':
        return void response.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>')
      case '/silent':
        return // never answers: the time limit ends it
    }
  })
  await t.rejects(fetchJsonDocument(`${base}/redirect`, open), refusal(/redirect/))
  await t.rejects(fetchJsonDocument(`${base}/missing`, open), refusal(/404/))
  await t.rejects(fetchJsonDocument(`${base}/declared-large`, open), refusal(/larger/))
  await t.rejects(fetchJsonDocument(`${base}/streamed-large`, open), refusal(/larger/))
  await t.rejects(fetchJsonDocument(`${base}/html`, open), refusal(/not JSON/))
  await t.rejects(fetchJsonDocument(`${base}/silent`, { ...open, timeoutMs: 300 }), refusal(/no complete answer within 300 ms/))
})

t.test('one deadline for the whole fetch: a server sending a byte at a time is cut off', async (t) => {
  let sent = 0
  let cutOff!: () => void
  const closed = new Promise<void>((resolve) => (cutOff = resolve))
  const base = await serve(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    // Never idle for long (an idle timeout would never fire), never finished.
    const drip = setInterval(() => {
      sent += 1
      response.write(' ')
    }, 20)
    response.on('close', () => {
      clearInterval(drip)
      cutOff()
    })
  })
  await t.rejects(fetchJsonDocument(`${base}/trickle`, { ...open, timeoutMs: 400 }), refusal(/no complete answer within 400 ms/))
  await closed
  t.ok(sent > 1, 'bytes kept coming until the deadline ended the connection')
})

t.test('the deadline covers DNS too', async (t) => {
  const hung = { ...closed, timeoutMs: 200, resolve: () => new Promise<never>(() => {}) }
  await t.rejects(fetchJsonDocument('https://agent.example/client.json', hung), refusal(/no complete answer/))
})

t.test('a host name is judged by every address it resolves to (DNS stubbed)', async (t) => {
  const resolvingTo =
    (...addresses: string[]) =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  for (const addresses of [['10.1.2.3'], ['93.184.216.34', '169.254.169.254'], ['::1'], ['fd12::1'], ['::ffff:192.168.0.1']]) {
    await t.rejects(
      fetchJsonDocument('https://agent.example/client.json', { ...closed, resolve: resolvingTo(...addresses) }),
      refusal(/agent\.example resolves to a non-public address/),
      addresses.join(', '),
    )
  }
  await t.rejects(
    fetchJsonDocument('https://agent.example/client.json', { ...closed, resolve: async () => [] }),
    refusal(/could not be resolved/),
  )
  await t.rejects(
    fetchJsonDocument('https://agent.example/client.json', {
      ...closed,
      resolve: async () => {
        throw new Error('ENOTFOUND')
      },
    }),
    refusal(/could not be resolved/),
  )
  // With loopback allowed (a local issuer) the connection goes to the address the stub answered.
  const base = await serve(t, (_request, response) => response.writeHead(200).end('{"ok":true}'))
  const port = new URL(base).port
  t.same((await fetchJsonDocument(`http://localhost:${port}/c.json`, { ...open, resolve: resolvingTo('127.0.0.1') })).body, {
    ok: true,
  })
})

t.test('cacheLifetime: Cache-Control, Expires and Age (RFC 9111 §4.2)', async (t) => {
  const now = Date.parse('2025-01-01T00:00:00Z') / 1000
  const date = 'Wed, 01 Jan 2025 00:00:00 GMT'
  t.equal(cacheLifetime({}, now), null, 'nothing said')
  t.equal(cacheLifetime({ 'cache-control': 'public, max-age=600' }, now), 600)
  t.equal(cacheLifetime({ 'cache-control': 'max-age=600, s-maxage=60' }, now), 60, 's-maxage: the copy is shared by every instance')
  t.equal(cacheLifetime({ 'cache-control': 'max-age=600', age: '100' }, now), 500, 'less its Age')
  t.equal(cacheLifetime({ 'cache-control': 'max-age=60', age: '100' }, now), 0, 'already stale')
  t.equal(cacheLifetime({ 'cache-control': 'no-store, max-age=600' }, now), 0)
  t.equal(cacheLifetime({ 'cache-control': 'no-cache' }, now), 0)
  t.equal(cacheLifetime({ expires: 'Wed, 01 Jan 2025 01:00:00 GMT', date }, now), 3600, 'Expires less Date')
  t.equal(cacheLifetime({ expires: 'Wed, 01 Jan 2025 00:10:00 GMT' }, now), 600, 'no Date: now')
  t.equal(cacheLifetime({ expires: 'Wed, 01 Jan 2025 01:00:00 GMT', date, age: '600' }, now), 3000, 'Expires less Age')
  t.equal(cacheLifetime({ expires: '0', date }, now), 0, 'an invalid Expires is in the past')
  t.equal(cacheLifetime({ expires: 'Tue, 31 Dec 2024 00:00:00 GMT', date }, now), 0, 'already expired')
  t.equal(cacheLifetime({ 'cache-control': 'max-age=60', expires: 'Wed, 01 Jan 2025 01:00:00 GMT', date }, now), 60, 'max-age wins')
})
