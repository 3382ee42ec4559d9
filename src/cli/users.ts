import { parseArgs } from 'node:util'
import { MAX_PASSWORD_LENGTH } from '../accounts/password-hasher.js'
import { normaliseEmail } from '../db/repositories/users.js'
import { randomId } from '../secrets.js'
import { CliError, type CommandContext } from './context.js'
import { singlePositional, table, type CommandResult } from './output.js'

export const MIN_PASSWORD_LENGTH = 8
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** stdin loses exactly one trailing line break (what `echo` adds); nothing else is trimmed. */
export function passwordFromStdin(raw: string): string {
  return raw.replace(/\r?\n$/, '')
}

export async function usersCommand(context: CommandContext, action: string | undefined, args: string[]): Promise<CommandResult> {
  switch (action) {
    case 'add': {
      const { values } = parseArgs({ args, options: { email: { type: 'string' }, name: { type: 'string' }, password: { type: 'string' }, 'password-stdin': { type: 'boolean' } } })
      const email = values.email === undefined ? '' : normaliseEmail(values.email)
      if (!EMAIL.test(email) || email.length > 320) throw new CliError('--email must be an email address')
      if ((values.password === undefined) === (values['password-stdin'] !== true)) throw new CliError('give exactly one of --password-stdin or --password')
      const password = values.password ?? passwordFromStdin(await context.io.readStdin())
      if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) throw new CliError(`the password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`)
      const name = values.name?.trim() || null
      const id = randomId()
      await context.withDeps(async (deps) => {
        if (await deps.repos.users.findByEmail(email)) throw new CliError(`a user with email ${email} already exists`)
        const now = deps.clock.now()
        // Added by an operator, who vouches for the address.
        await deps.repos.users.insert({ id, email, name, passwordHash: await deps.hasher.hash(password), emailVerified: true, disabledAt: null, createdAt: now })
      })
      return { json: { id, email }, text: `User ${email} added (sub ${id}).` }
    }
    case 'list': {
      parseArgs({ args, options: {} })
      const users = await context.withDeps((deps) => deps.repos.users.list())
      return {
        json: { users: users.map((u) => ({ id: u.id, email: u.email, name: u.name, email_verified: u.emailVerified, disabled: u.disabledAt !== null, created_at: u.createdAt })) },
        text: users.length === 0 ? 'No users yet.' : table([['ID', 'EMAIL', 'NAME', 'STATUS'], ...users.map((u) => [u.id, u.email, u.name ?? '', u.disabledAt !== null ? 'disabled' : 'active'])]),
      }
    }
    case 'disable': {
      const email = singlePositional(args)
      if (email === undefined) throw new CliError('usage: idp users disable EMAIL')
      const user = await context.withDeps(async (deps) => {
        const found = await deps.repos.users.findByEmail(email)
        if (!found) throw new CliError(`no user with email ${email}`)
        const now = deps.clock.now()
        await deps.repos.users.disable(found.id, now)
        // A disabled account keeps nothing alive: sessions end, grants and their tokens die.
        await deps.repos.sessions.endAllForUser(found.id, now)
        await deps.repos.grants.revokeAllForUser(found.id, now)
        deps.log.warn({ event: 'account_disabled', userId: found.id }, 'account disabled')
        return found
      })
      return { json: { disabled: user.email, id: user.id }, text: `User ${user.email} disabled; sessions ended and tokens revoked.` }
    }
    default:
      throw new CliError('usage: idp users add|list|disable …')
  }
}
