/**
 * A page reads its login session, the session's user and its sign-in's interaction once
 * (http/page-reads.ts): what the language hook read is handed to the handler's first read of the
 * same row, once. Counted on the real repositories of a real app.
 */
import t, { type Test } from 'tap'
import type { FastifyRequest } from 'fastify'
import { Browser, authorizeUrl, pkcePair, RP } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'
import { readForPage, readOnce } from '../../src/http/page-reads.js'
import type { User } from '../../src/model/user.js'

/** Counts the calls of one repository method (the method itself still runs). */
function counted<T extends object>(t: Test, target: T, method: keyof T & string): { calls: number } {
  const original = target[method] as (...args: unknown[]) => unknown
  const counter = { calls: 0 }
  ;(target as Record<string, unknown>)[method] = (...args: unknown[]) => {
    counter.calls += 1
    return original.apply(target, args)
  }
  t.teardown(() => {
    ;(target as Record<string, unknown>)[method] = original
  })
  return counter
}

t.test('pages read their rows once: the login page of a sign-in, the account page, single sign-on', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const user = await ctx.addUser()
  const rp = await ctx.addClient()
  const browser = new Browser(ctx)

  const startUrl = authorizeUrl({
    response_type: 'code',
    client_id: rp.client.id,
    redirect_uri: RP,
    scope: 'openid',
    code_challenge: pkcePair().challenge,
    code_challenge_method: 'S256',
  })
  const started = await browser.get(startUrl)
  const loginUrl = started.headers.location!
  t.match(loginUrl, /^\/login\?interaction=/)
  const interactions = counted(t, ctx.deps.repos.interactions, 'findLive')
  const login = await browser.get(loginUrl)
  t.equal(login.statusCode, 200)
  t.match(login.body, rp.client.name)
  t.equal(interactions.calls, 1, 'the sign-in’s interaction, read once for its language and its page')

  t.equal((await browser.login(user.email, user.password)).statusCode, 303)
  const sessions = counted(t, ctx.deps.repos.sessions, 'findLive')
  const users = counted(t, ctx.deps.repos.users, 'findById')
  const account = await browser.get('/account')
  t.equal(account.statusCode, 200)
  t.match(account.body, user.email)
  t.equal(sessions.calls, 1, 'the session, read once')
  t.equal(users.calls, 1, 'its user, read once')

  // Single sign-on: /authorize with the session answers with a code, reading each row once too.
  sessions.calls = 0
  users.calls = 0
  const sso = await browser.get(startUrl)
  t.equal(sso.statusCode, 303)
  t.match(sso.headers.location, /^https:\/\/rp\.example\/callback\?code=/)
  t.equal(sessions.calls, 1, '/authorize: the session, read once')
  t.equal(users.calls, 1, '/authorize: its user, read once')
})

t.test('handed once, and only for the same row', async (t) => {
  const request = { pageReads: null } as unknown as FastifyRequest
  let reads = 0
  const read = async (): Promise<User> => {
    reads += 1
    return { id: `read-${reads}` } as User
  }
  t.same(await readForPage(request, 'user', 'u1', read), { id: 'read-1' })
  t.same(await readOnce(request, 'user', 'u1', read), { id: 'read-1' }, 'the hook’s row, handed over')
  t.equal(reads, 1)
  t.same(await readOnce(request, 'user', 'u1', read), { id: 'read-2' }, 'a second read goes to the database')
  await readForPage(request, 'user', 'u1', read)
  t.same(await readOnce(request, 'user', 'u2', read), { id: 'read-4' }, 'another row is read, not taken from the hook')
  t.same(await readOnce(request, 'session', 'u1', async () => undefined), undefined, 'another kind of row is not handed either')
  const nothing = async () => {
    reads += 1
    return undefined
  }
  await readForPage(request, 'session', 'hash', nothing)
  t.equal(await readOnce(request, 'session', 'hash', nothing), undefined, '"no live row" is handed over too')
  t.equal(reads, 5, 'without reading again')
  const elsewhere = { pageReads: null } as unknown as FastifyRequest
  t.same(await readOnce(elsewhere, 'user', 'u1', read), { id: 'read-6' }, 'a request without a hook read reads')
})
