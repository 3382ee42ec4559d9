/** The outbox's JSON POST (webhooks): the body byte for byte, the content type and extra headers, the status as it is. */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { postJson } from '../../../src/outbox/post-json.js'

t.test('a JSON POST with extra headers; the status comes back as it is', async (t) => {
  const seen: { headers: http.IncomingHttpHeaders; body: string }[] = []
  const server = http.createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    request.on('end', () => {
      seen.push({ headers: request.headers, body })
      response.writeHead(seen.length === 1 ? 204 : 410).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  const body = '{"type":"user.created","data":{"name":"Zoë"}}'
  const options = { timeoutMs: 5_000, publicAddresses: null }
  t.equal(await postJson(url, body, { 'webhook-id': 'msg_1' }, options), 204)
  t.equal(await postJson(url, body, {}, options), 410)
  t.equal(seen[0]!.body, body, 'the body as given')
  t.match(seen[0]!.headers, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'webhook-id': 'msg_1',
    'user-agent': 'Tessera',
  })
  t.notOk('webhook-id' in seen[1]!.headers)
  const spoof = await postJson(url, body, { 'content-type': 'text/plain' }, options)
  t.equal(spoof, 410)
  t.equal(seen[2]!.headers['content-type'], 'application/json', 'extra headers cannot change the content type')
})
