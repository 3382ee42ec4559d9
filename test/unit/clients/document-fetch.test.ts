/**
 * The SSRF guard for documents clients point Tessera at (client ID metadata documents, jwks_uri),
 * against a real HTTP server on loopback.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { checkDocumentUrl, DocumentUnavailable, fetchJsonDocument } from '../../../src/clients/document-fetch.js'

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
  await t.rejects(fetchJsonDocument(`${base}/silent`, { ...open, timeoutMs: 300 }), refusal(/no answer/))
})
