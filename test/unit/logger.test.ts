import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger, lazyChildLogger } from '../../src/logger.js'

function capture(level: 'info' | 'warn') {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    },
  })
  return { log: createLogger({ logLevel: level }, destination), lines }
}

const flush = () => new Promise((resolve) => setImmediate(resolve))

t.test('lazyChildLogger: lines carry the bindings and stay redacted', async (t) => {
  const { log, lines } = capture('info')
  const request = lazyChildLogger(log, { reqId: 'req-7' })
  request.info({ body: { password: 'hunter2' }, path: '/login' }, 'first')
  request.child({ component: 'mail' }).warn({ params: { token: 'abc' } }, 'second')
  await flush()
  t.equal(lines.length, 2)
  t.match(lines[0], { reqId: 'req-7', path: '/login', body: { password: '[redacted]' }, msg: 'first' })
  t.match(lines[1], { reqId: 'req-7', component: 'mail', params: { token: '[redacted]' }, msg: 'second' })
  t.notMatch(JSON.stringify(lines), /hunter2|"abc"/, 'no secret reaches the output')
})

t.test('lazyChildLogger: levels below the configured one write nothing and make no child', async (t) => {
  const { log, lines } = capture('warn')
  let children = 0
  const counting = Object.create(log) as typeof log
  counting.child = ((...args: Parameters<typeof log.child>) => {
    children++
    return log.child(...args)
  }) as typeof log.child
  const request = lazyChildLogger(counting, { reqId: 'req-8' })
  request.info('hidden')
  request.debug('hidden too')
  t.equal(children, 0, 'no child logger was made for disabled levels')
  request.error('shown')
  request.error('shown again')
  await flush()
  t.equal(children, 1, 'one child, made on first use and reused')
  t.same(
    lines.map((line) => [line['msg'], line['reqId']]),
    [
      ['shown', 'req-8'],
      ['shown again', 'req-8'],
    ],
  )
  t.equal(request.level, 'warn', 'the level is the parent’s')
})
