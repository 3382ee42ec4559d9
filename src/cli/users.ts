import { parseArgs } from 'node:util'
import { endUserAccess } from '../accounts/context.js'
import { passwordResetLink } from '../accounts/password-reset.js'
import { passwordProblem } from '../accounts/password-policy.js'
import { isRoleName } from '../accounts/roles.js'
import { isEmailAddress } from '../accounts/signup.js'
import { normaliseEmail, type User } from '../db/repositories/users.js'
import type { Deps } from '../deps.js'
import { randomId } from '../secrets.js'
import { CliError, type CommandContext } from './context.js'
import { singlePositional, table, type CommandResult } from './output.js'

/** stdin loses exactly one trailing line break (what `echo` adds); nothing else is trimmed. */
export function passwordFromStdin(raw: string): string {
  return raw.replace(/\r?\n$/, '')
}

function checkRoles(roles: readonly string[]): readonly string[] {
  const bad = roles.filter((role) => !isRoleName(role))
  if (bad.length > 0) throw new CliError(`not a role name: ${bad.join(', ')} (letters, digits, _ . : - and at most 64 characters)`)
  return roles
}

async function findUser(deps: Deps, email: string): Promise<User> {
  const user = await deps.repos.users.findByEmail(email)
  if (!user) throw new CliError(`no user with email ${email}`)
  return user
}

const userJson = (u: User) => ({ id: u.id, email: u.email, name: u.name, email_verified: u.emailVerified, disabled: u.disabledAt !== null, roles: u.roles, created_at: u.createdAt })

/** `idp users <action> EMAIL`: one email argument, one change, one line of output. */
async function onOneUser(context: CommandContext, args: string[], usage: string, change: (deps: Deps, user: User) => Promise<void>): Promise<User> {
  const email = singlePositional(args)
  if (email === undefined) throw new CliError(`usage: idp users ${usage}`)
  return context.withDeps(async (deps) => {
    const user = await findUser(deps, email)
    await change(deps, user)
    return user
  })
}

export async function usersCommand(context: CommandContext, action: string | undefined, args: string[]): Promise<CommandResult> {
  switch (action) {
    case 'add': {
      const { values } = parseArgs({
        args,
        options: { email: { type: 'string' }, name: { type: 'string' }, password: { type: 'string' }, 'password-stdin': { type: 'boolean' }, role: { type: 'string', multiple: true } },
      })
      const email = values.email === undefined ? '' : normaliseEmail(values.email)
      if (!isEmailAddress(email)) throw new CliError('--email must be an email address')
      if ((values.password === undefined) === (values['password-stdin'] !== true)) throw new CliError('give exactly one of --password-stdin or --password')
      const password = values.password ?? passwordFromStdin(await context.io.readStdin())
      const problem = passwordProblem(password)
      if (problem !== null) throw new CliError(`password refused: ${problem}`)
      const roles = checkRoles(values.role ?? [])
      const name = values.name?.trim() || null
      const id = randomId()
      await context.withDeps(async (deps) => {
        if (await deps.repos.users.findByEmail(email)) throw new CliError(`a user with email ${email} already exists`)
        const now = deps.clock.now()
        // Added by an operator, who vouches for the address.
        await deps.repos.users.insert({ id, email, name, passwordHash: await deps.hasher.hash(password), emailVerified: true, disabledAt: null, createdAt: now, roles })
      })
      return { json: { id, email, roles: [...new Set(roles)].sort() }, text: `User ${email} added (sub ${id}).` }
    }
    case 'list': {
      parseArgs({ args, options: {} })
      const users = await context.withDeps((deps) => deps.repos.users.list())
      return {
        json: { users: users.map(userJson) },
        text:
          users.length === 0
            ? 'No users yet.'
            : table([
                ['ID', 'EMAIL', 'NAME', 'ROLES', 'STATUS'],
                ...users.map((u) => [u.id, u.email, u.name ?? '', u.roles.join(',') || '-', u.disabledAt !== null ? 'disabled' : u.emailVerified ? 'active' : 'unverified']),
              ]),
      }
    }
    case 'set-roles': {
      const { positionals } = parseArgs({ args, options: {}, allowPositionals: true })
      const [email, ...roles] = positionals
      if (email === undefined) throw new CliError('usage: idp users set-roles EMAIL [ROLE…] (no roles clears them)')
      checkRoles(roles)
      const user = await context.withDeps(async (deps) => {
        const found = await findUser(deps, email)
        await deps.repos.users.setRoles(found.id, roles, deps.clock.now())
        await deps.audit.record('roles_changed', { userId: found.id, detail: { roles } }, 'roles changed')
        return (await deps.repos.users.findById(found.id))!
      })
      return { json: { email: user.email, id: user.id, roles: user.roles }, text: `Roles of ${user.email}: ${user.roles.join(', ') || '(none)'}. Tokens issued from now on carry them.` }
    }
    case 'verify': {
      const user = await onOneUser(context, args, 'verify EMAIL', (deps, found) => deps.repos.users.markEmailVerified(found.id, deps.clock.now()))
      return { json: { verified: user.email, id: user.id }, text: `Email address ${user.email} marked as verified.` }
    }
    case 'reset-link': {
      let link = ''
      const user = await onOneUser(context, args, 'reset-link EMAIL', async (deps, found) => {
        if (found.disabledAt !== null) throw new CliError(`user ${found.email} is disabled; enable it first`)
        link = await passwordResetLink(deps, found)
        await deps.audit.record('password_reset_requested', { userId: found.id, detail: { by: 'operator' } }, 'password reset link created by an operator')
      })
      return { json: { email: user.email, id: user.id, reset_link: link, expires_in: context.config.passwordResetTtl }, text: `${link}\nValid once, for ${Math.round(context.config.passwordResetTtl / 60)} minutes. Older reset links of ${user.email} no longer work.` }
    }
    case 'disable': {
      const user = await onOneUser(context, args, 'disable EMAIL', async (deps, found) => {
        await deps.repos.users.disable(found.id, deps.clock.now())
        // A disabled account keeps nothing alive: sessions end, grants and their tokens die.
        await endUserAccess(deps, found.id)
        await deps.audit.record('account_disabled', { userId: found.id }, 'account disabled')
      })
      return { json: { disabled: user.email, id: user.id }, text: `User ${user.email} disabled; sessions ended and tokens revoked.` }
    }
    case 'enable': {
      const user = await onOneUser(context, args, 'enable EMAIL', async (deps, found) => {
        await deps.repos.users.enable(found.id, deps.clock.now())
        await deps.audit.record('account_enabled', { userId: found.id }, 'account enabled')
      })
      return { json: { enabled: user.email, id: user.id }, text: `User ${user.email} enabled; they can sign in again.` }
    }
    default:
      throw new CliError('usage: idp users add|list|set-roles|verify|reset-link|disable|enable …')
  }
}
