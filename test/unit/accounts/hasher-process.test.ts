import fs from 'node:fs'
import t from 'tap'
import { backgroundArgon2Hasher, HasherUnavailable } from '../../../src/accounts/hasher-process.js'
import { DEFAULT_ARGON2 } from '../../../src/accounts/password-hasher.js'

/** Nice value of every thread of a process (Linux /proc), field 19 of each task's stat line. */
function threadNiceness(pid: number): number[] {
  return fs.readdirSync(`/proc/${pid}/task`).map((task) => {
    const stat = fs.readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
  })
}

const exited = (pid: number) => {
  try {
    process.kill(pid, 0)
    return false
  } catch {
    return true
  }
}

t.test('hashes and verifies in a separate process with the configured argon2id parameters', async (t) => {
  const hasher = backgroundArgon2Hasher(DEFAULT_ARGON2)
  t.teardown(() => hasher.close())
  t.equal(await hasher.processId(), undefined, 'no process before the first hash')
  const hash = await hasher.hash('correct horse battery staple')
  t.match(hash, /^\$argon2id\$v=19\$/, 'argon2id')
  t.same(new Set(hash.split('$')[3]!.split(',')), new Set(['m=19456', 't=2', 'p=1']), 'm=19456 t=2 p=1')
  const pid = await hasher.processId()
  t.ok(pid && pid !== process.pid, 'hashed in another process')
  t.equal(await hasher.verify(hash, 'correct horse battery staple'), true, 'the password verifies')
  t.equal(await hasher.verify(hash, 'correct horse battery staple '), false, 'checked exactly as typed: a trailing space fails')
  t.equal(await hasher.verify('not a hash', 'x'), false, 'a malformed stored hash is a failed verification, not an error')
  t.equal(hasher.needsRehash(hash), false, 'same parameters: no rehash')
  t.equal(backgroundArgon2Hasher({ ...DEFAULT_ARGON2, timeCost: 3 }).needsRehash(hash), true, 'stronger parameters: rehash')
  const many = await Promise.all(Array.from({ length: 12 }, (_, i) => hasher.hash(`password ${i}`)))
  t.equal(new Set(many).size, 12, 'concurrent hashes each get their own salted answer')
  t.same(await Promise.all(many.map((h, i) => hasher.verify(h, `password ${i}`))), Array(12).fill(true), 'and each verifies')
})

t.test('the hashing process runs at background priority', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const hasher = backgroundArgon2Hasher(DEFAULT_ARGON2)
  t.teardown(() => hasher.close())
  await Promise.all([hasher.hash('a'), hasher.hash('b')])
  const pid = (await hasher.processId())!
  const niceness = threadNiceness(pid)
  t.ok(niceness.length > 1, `${niceness.length} threads`)
  t.ok(niceness.every((nice) => nice >= 10), `every thread, including libuv's pool where argon2 runs, at nice ≥ 10 (${niceness.join(' ')})`)
  t.equal(threadNiceness(process.pid)[0], 0, 'the server itself keeps normal priority')
})

t.test('a crashed hashing process fails the hashes in flight and is replaced by the next hash', async (t) => {
  const hasher = backgroundArgon2Hasher(DEFAULT_ARGON2)
  t.teardown(() => hasher.close())
  await hasher.hash('warm up')
  const first = (await hasher.processId())!
  const inFlight = hasher.hash('interrupted')
  process.kill(first, 'SIGKILL')
  await t.rejects(inFlight, HasherUnavailable, 'the hash in flight is refused, not left hanging')
  const hash = await hasher.hash('after the crash')
  t.ok(await hasher.verify(hash, 'after the crash'), 'a new process answers')
  t.not(await hasher.processId(), first, 'it is another process')
})

t.test('close ends the process', async (t) => {
  const hasher = backgroundArgon2Hasher(DEFAULT_ARGON2)
  await hasher.hash('x')
  const pid = (await hasher.processId())!
  await hasher.close()
  t.ok(exited(pid), 'the hashing process has exited')
  t.equal(await hasher.processId(), undefined, 'none running')
  await hasher.close()
  t.pass('closing twice is harmless')
})
