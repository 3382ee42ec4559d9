/**
 * The outbox's outbound POST against real servers on loopback: a form body, the status returned
 * as is (redirects are not followed), a bounded wait, and the address guard for URLs a client
 * chose (loopback refused unless allowed, before any connection).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { PostFailed, postForm } from '../../../src/outbox/post-form.js'

interface Seen {
  method: string
  contentType: string | undefined
  body: string
}

async function server(t: Test, answer: (response: http.ServerResponse) => void) {
  const seen: Seen[] = []
  const listener = http.createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    request.on('end', () => {
      seen.push({ method: request.method ?? '', contentType: request.headers['content-type'], body })
      answer(response)
    })
  })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    listener.closeAllConnections()
    return new Promise<void>((resolve) => listener.close(() => resolve()))
  })
  return { url: `http://127.0.0.1:${(listener.address() as AddressInfo).port}/logout?tenant=a`, seen }
}

const ANY = { timeoutMs: 5_000, publicAddresses: null }

t.test('a form POST; the status comes back as it is, redirects are not followed', async (t) => {
  const ok = await server(t, (response) => response.writeHead(200).end('fine'))
  t.equal(await postForm(ok.url, { logout_token: 'a.b.c', extra: 'x y&z' }, ANY), 200)
  t.same(ok.seen, [{ method: 'POST', contentType: 'application/x-www-form-urlencoded', body: 'logout_token=a.b.c&extra=x+y%26z' }])
  const moved = await server(t, (response) => response.writeHead(302, { location: 'http://169.254.169.254/' }).end())
  t.equal(await postForm(moved.url, { logout_token: 'x' }, ANY), 302, 'a redirect is an answer, never followed')
  const busy = await server(t, (response) => response.writeHead(503).end())
  t.equal(await postForm(busy.url, { logout_token: 'x' }, ANY), 503)
})

t.test('no answer within the timeout, or nobody listening: PostFailed with a safe reason', async (t) => {
  const silent = await server(t, () => undefined)
  await t.rejects(postForm(silent.url, { logout_token: 'x' }, { ...ANY, timeoutMs: 200 }), new PostFailed('no answer within 200 ms'))
  const closed = new URL(silent.url)
  closed.port = '1'
  await t.rejects(postForm(closed.href, { logout_token: 'x' }, ANY), { name: 'PostFailed', problem: /the connection failed/ })
})

t.test('URLs a client chose reach public addresses only: loopback only when allowed', async (t) => {
  const target = await server(t, (response) => response.writeHead(200).end())
  await t.rejects(postForm(target.url, { logout_token: 'x' }, { timeoutMs: 5_000, publicAddresses: { allowLoopback: false } }), {
    name: 'PostFailed',
    problem: /non-public address/,
  })
  t.equal(target.seen.length, 0, 'refused before connecting')
  for (const url of ['https://10.0.0.7/logout', 'https://169.254.169.254/latest', 'https://[fd00::1]/logout'])
    await t.rejects(postForm(url, {}, { timeoutMs: 5_000, publicAddresses: { allowLoopback: true } }), { name: 'PostFailed' }, url)
  t.equal(await postForm(target.url, { logout_token: 'x' }, { timeoutMs: 5_000, publicAddresses: { allowLoopback: true } }), 200)
})
