/**
 * Never two active keys, whatever runs at the same moment: several `idp keys rotate` processes on
 * one SQLite database, several instances starting on a fresh install, several KeyStores in one
 * process (two servers rotating on schedule: two-instances.test.ts).
 */
import t, { type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { keyRetentionSeconds } from '../../src/deps.js'
import { loadOrCreateKek } from '../../src/keys/kek.js'
import { KeyStore } from '../../src/keys/key-store.js'
import { freePort } from '../helpers/free-port.js'
import { createTestApp } from '../helpers/test-app.js'
import { snapshotBuild, withTimeout } from '../helpers/processes.js'
import { idp, listKeys, newInstall, type KeyRow } from './support.js'

// Child processes on a shared two-core machine can be slow; the tap runner honours this.
t.setTimeout(480_000)

const IDP_AT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/idp-at.mjs')
const PROCESSES = 4
const EXISTING_ROUNDS = 2
const FRESH_ROUNDS = 3

interface Exit { code: number | null; stdout: string; stderr: string }

/** PROCESSES × `idp ARGS`, each loaded first and then run at the same wall-clock instant. */
async function atOnce(bin: string, env: Record<string, string>, args: string[]): Promise<Exit[]> {
  const cliMain = path.join(path.dirname(bin), '../dist/src/cli/main.js')
  const startAt = Date.now() + 8000
  const children: ChildProcess[] = []
  const runs = Array.from({ length: PROCESSES }, () => new Promise<Exit>((resolve) => {
    const child = spawn(process.execPath, [IDP_AT, cliMain, String(startAt), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  }))
  return withTimeout(Promise.all(runs), 90_000, `${PROCESSES} × idp ${args.join(' ')}`).catch((error: unknown) => {
    for (const child of children) child.kill('SIGKILL')
    throw error
  })
}

const count = (keys: readonly { state: string }[], state: string) => keys.filter((key) => key.state === state).length

function checkStore(t: Test, keys: readonly KeyRow[], label: string): void {
  t.equal(count(keys, 'active'), 1, `${label}: exactly one active key`)
  t.ok(count(keys, 'next') >= 1, `${label}: at least one next key`)
  t.equal(new Set(keys.map((key) => key.kid)).size, keys.length, `${label}: kids are unique`)
}

t.test('idp keys rotate in several processes at the same moment', async (t) => {
  const { bin } = await snapshotBuild()
  const { env } = newInstall(await freePort())
  checkStore(t, await listKeys(bin, env), 'before')

  // Round 1: the literal CLI binary, spawned together; later rounds aligned to the millisecond.
  const plain = await withTimeout(Promise.all(Array.from({ length: PROCESSES }, () => idp(bin, ['keys', 'rotate', '--now', '--json'], env))), 90_000, 'plain CLI rotations')
  for (const run of plain) t.equal(run.code, 0, `exit 0 ${run.stderr}`)
  const afterFirst = await listKeys(bin, env)
  checkStore(t, afterFirst, 'after round 1')
  t.equal(count(afterFirst, 'retired'), PROCESSES, 'after round 1: one retired key per rotation')

  for (let round = 2; round <= EXISTING_ROUNDS + 1; round++) {
    const exits = await atOnce(bin, env, ['keys', 'rotate', '--now', '--json'])
    for (const exit of exits) {
      t.equal(exit.code, 0, `round ${round}: exit 0 ${exit.stderr}`)
      t.type((JSON.parse(exit.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>)['active_kid'], 'string')
    }
    const keys = await listKeys(bin, env)
    checkStore(t, keys, `after round ${round}`)
    // Every invocation is one complete rotation: none lost, none merged.
    t.equal(count(keys, 'retired'), PROCESSES * round, `after round ${round}: one retired key per rotation`)
  }
})

// Two servers (or a server and the CLI) started together on a new install both run the migrations
// and create the first keys. Expected: every process succeeds. Kysely's migration lock is a no-op
// on SQLite, so two processes can both see a migration as pending and the later one fails with
// "migration … failed" (table already exists / duplicate column). A race: it shows most rounds.
t.test('several processes starting at the same moment on a fresh install', async (t) => {
  const { bin } = await snapshotBuild()
  for (let round = 1; round <= FRESH_ROUNDS; round++) {
    const { env } = newInstall(await freePort())
    const exits = await atOnce(bin, env, ['keys', 'rotate', '--now', '--json'])
    for (const exit of exits) t.equal(exit.code, 0, `round ${round}: exit 0 ${exit.stderr.trim()}`)
    checkStore(t, await listKeys(bin, env), `fresh install round ${round}`)
  }
})

t.test('several KeyStores over one database rotating concurrently', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const clock = ctx.clock
  const kek = loadOrCreateKek(ctx.deps.config.keysDir, null)
  const stores = Array.from({ length: 3 }, () => new KeyStore({
    repository: ctx.deps.repos.signingKeys,
    kek,
    clock,
    policy: { retentionSeconds: keyRetentionSeconds(ctx.deps.config), rotationIntervalSeconds: null, removal: 'delete' },
    modulusLength: 2048,
    log: pino({ level: 'silent' }),
  }))
  await Promise.all(stores.map((store) => store.initialise()))
  for (let round = 1; round <= 4; round++) {
    const results = await Promise.allSettled([...stores.map((store) => store.rotate({ immediately: true })), ctx.deps.keys.rotate({ immediately: true })])
    t.same(results.filter((result) => result.status === 'rejected'), [], `round ${round}: every rotate() resolved`)
    clock.advance(1)
    const { keys } = await ctx.deps.repos.signingKeys.load()
    t.equal(count(keys, 'active'), 1, `round ${round}: exactly one active key`)
    t.equal(count(keys, 'retired'), 4 * round, `round ${round}: one retired key per rotation`)
    await Promise.all(stores.map((store) => store.refresh()))
    const active = keys.find((key) => key.state === 'active')!.kid
    for (const store of stores) t.equal(store.signingKey().kid, active, 'every store signs with the one active key')
  }
  // Revocation racing rotation and maintenance.
  const active = stores[0]!.signingKey().kid
  const mixed = await Promise.allSettled([stores[0]!.revoke(active), stores[1]!.rotate({ immediately: true }), stores[2]!.maintain(), ctx.deps.keys.rotate({ immediately: true })])
  t.same(mixed.filter((result) => result.status === 'rejected'), [], 'revoke, rotate and maintain all resolved')
  const { keys } = await ctx.deps.repos.signingKeys.load()
  t.equal(count(keys, 'active'), 1, 'exactly one active key after the mixed race')
  t.not(keys.find((key) => key.state === 'active')!.kid, active, 'the revoked key does not sign')
})
