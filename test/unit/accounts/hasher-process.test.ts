import { spawn } from 'node:child_process'
import { once } from 'node:events'
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
  t.ok(
    niceness.every((nice) => nice >= 10),
    `every thread, including libuv's pool where argon2 runs, at nice ≥ 10 (${niceness.join(' ')})`,
  )
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

/** The tests below are about the process, not the hash: the cheapest argon2id there is. */
const CHEAP = { memoryCost: 1024, timeCost: 1, parallelism: 1 }

// Under load the hashing process (nice 10) can take longer than close()'s grace period to exit, and
// is killed. An idle hasher's process is unreferenced, so unless close() references it again the
// event loop runs dry before the kill's exit is reported: the process ends with close() pending
// (tap: "error thrown in teardown", "test unfinished"). A stopped process exits only when killed,
// which makes that case deterministic; it runs in a process of its own, with nothing else alive.
t.test(
  'close waits for the exit of a process killed after the grace period, even with nothing else keeping this process alive',
  async (t) => {
    const module = new URL('../../../src/accounts/hasher-process.ts', import.meta.url).href
    const script = `
    import { backgroundArgon2Hasher } from ${JSON.stringify(module)}
    const hasher = backgroundArgon2Hasher(${JSON.stringify(CHEAP)}, { closeGraceMs: 50 })
    await hasher.hash('x')
    const pid = await hasher.processId()
    process.kill(pid, 'SIGSTOP')
    console.log(JSON.stringify({ pid }))
    await hasher.close()
    console.log(JSON.stringify({ closed: true }))
  `
    const loaderFlags = process.execArgv.filter((flag) => /^--(import|loader|experimental-loader|require|enable-source-maps)/.test(flag))
    const child = spawn(process.execPath, [...loaderFlags, '--input-type=module', '--eval', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const [code] = (await once(child, 'close')) as [number | null]
    const lines = stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { pid?: number; closed?: boolean })
    const pid = lines[0]?.pid
    t.teardown(() => {
      if (pid && !exited(pid)) process.kill(pid, 'SIGKILL')
    })
    t.ok(pid, `the hashing process was started and stopped (stderr: ${stderr})`)
    t.same(lines[1], { closed: true }, 'close() resolved: the process did not run out of work with it still pending')
    t.equal(code, 0, `and the process then ended normally (stderr: ${stderr})`)
    t.ok(pid && exited(pid), 'the hashing process is gone')
  },
)

t.test('close while a hash is in flight: the hash fails, close resolves once the process has exited', async (t) => {
  const hasher = backgroundArgon2Hasher(CHEAP, { closeGraceMs: 50 })
  await hasher.hash('warm up')
  const pid = (await hasher.processId())!
  // Stopped, it cannot answer: the hash stays in flight until close() kills the process.
  process.kill(pid, 'SIGSTOP')
  t.teardown(() => {
    if (!exited(pid)) process.kill(pid, 'SIGKILL')
  })
  const inFlight = hasher.hash('never answered')
  // Once the promises queued so far have run, the request has been written to the stopped process.
  await new Promise((resolve) => setImmediate(resolve))
  const closing = hasher.close()
  await t.rejects(inFlight, { name: 'HasherUnavailable', message: 'password hasher closed' }, 'the hash in flight fails')
  await closing
  t.ok(exited(pid), 'the process has exited')
  await t.rejects(hasher.hash('after close'), { name: 'HasherUnavailable', message: 'password hasher closed' }, 'later hashes are refused')
  t.equal(await hasher.processId(), undefined, 'and start no new process')
})

t.test('close while the process is still starting', async (t) => {
  const hasher = backgroundArgon2Hasher(CHEAP)
  const first = hasher.hash('x')
  await hasher.close()
  await t.rejects(first, HasherUnavailable, 'the hash waiting for the process fails')
  t.equal(await hasher.processId(), undefined, 'none running')
})

t.test('close right after the process was killed from outside (its exit perhaps not yet reported)', async (t) => {
  const hasher = backgroundArgon2Hasher(CHEAP)
  await hasher.hash('x')
  const pid = (await hasher.processId())!
  process.kill(pid, 'SIGKILL')
  await hasher.close()
  t.ok(exited(pid), 'close resolves, without an error from the closed channel')
  await hasher.close()
  t.pass('and closing again is harmless')
})
