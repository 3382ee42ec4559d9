import type { Command } from 'commander'
import { endUserAccess } from '../accounts/context.js'
import { passwordResetLink } from '../accounts/password-reset.js'
import { passwordProblem } from '../accounts/password-policy.js'
import { isRoleName, type User } from '../model/user.js'
import { factorsOf, resetFactors, type FactorSummary } from '../factors/summary.js'
import { emailAddressProblem, normaliseEmail } from '../accounts/email-address.js'
import type { Deps } from '../deps.js'
import { randomId } from '../secrets.js'
import { examples, nonEmpty, repeatable } from './arguments.js'
import { CliError, type CommandContext, type RunCommand } from './context.js'
import { table, type CommandResult } from './output.js'

/** stdin loses exactly one trailing line break (what `echo` adds); nothing else is trimmed. */
export function passwordFromStdin(raw: string): string {
  return raw.replace(/\r?\n$/, '')
}

function checkRoles(roles: readonly string[]): readonly string[] {
  const bad = roles.filter((role) => !isRoleName(role))
  if (bad.length > 0) throw new CliError(`not a role name: ${bad.join(', ')} (letters, digits, _ . : - and at most 64 characters)`)
  return roles
}

/** A user named by email (any spelling of it) or, for accounts `collisions` lists, by id. */
async function findUser(deps: Deps, emailOrId: string): Promise<User> {
  const user = emailOrId.includes('@')
    ? await deps.repos.users.findByEmail(normaliseEmail(emailOrId))
    : await deps.repos.users.findById(emailOrId)
  if (!user) throw new CliError(emailOrId.includes('@') ? `no user with email ${emailOrId}` : `no user with id ${emailOrId}`)
  return user
}

/** Accounts whose stored emails share one canonical form (left apart by the normalisation migration). */
export function emailCollisions(users: readonly User[]): { canonical: string; users: User[] }[] {
  const groups = new Map<string, User[]>()
  for (const user of users) {
    const canonical = normaliseEmail(user.email)
    groups.set(canonical, [...(groups.get(canonical) ?? []), user])
  }
  return [...groups].filter(([, members]) => members.length > 1).map(([canonical, members]) => ({ canonical, users: members }))
}

const userJson = (u: User) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  email_verified: u.emailVerified,
  disabled: u.disabledAt !== null,
  roles: u.roles,
  created_at: u.createdAt,
})

/** `idp users <action> EMAIL`: one user, one change, one line of output. */
async function onOneUser(context: CommandContext, emailOrId: string, change: (deps: Deps, user: User) => Promise<void>): Promise<User> {
  return context.withDeps(async (deps) => {
    const user = await findUser(deps, emailOrId)
    await change(deps, user)
    return user
  })
}

/** `users add` options as commander hands them over. */
interface AddOptions {
  readonly email?: string
  readonly name?: string
  readonly password?: string
  readonly passwordStdin?: boolean
  readonly role?: string[]
}

async function addUser(context: CommandContext, options: AddOptions): Promise<CommandResult> {
  const problem = emailAddressProblem(options.email ?? '')
  if (problem !== null) throw new CliError(`--email ${options.email ?? ''}: ${problem}`)
  const email = normaliseEmail(options.email!)
  const sources = (options.password === undefined ? 0 : 1) + (options.passwordStdin === true ? 1 : 0)
  if (sources !== 1) throw new CliError('give exactly one of --password-stdin or --password')
  const password = options.password ?? passwordFromStdin(await context.io.readStdin())
  const weak = passwordProblem(password)
  if (weak !== null) throw new CliError(`password refused: ${weak}`)
  const roles = checkRoles(options.role ?? [])
  const name = options.name?.trim() || null
  const id = randomId()
  await context.withDeps(async (deps) => {
    if (await deps.repos.users.findByEmail(email)) throw new CliError(`a user with email ${email} already exists`)
    const now = deps.clock.now()
    // Added by an operator, who vouches for the address.
    const passwordHash = await deps.hasher.hash(password)
    await deps.repos.users.insert({ id, email, name, passwordHash, emailVerified: true, disabledAt: null, createdAt: now, roles })
  })
  return { json: { id, email, roles: [...new Set(roles)].sort() }, text: `User ${email} added (sub ${id}).` }
}

/** The second factors of a user, in words: "passkey×2, app, 8 codes" or "-". */
const factorsText = (f: FactorSummary) =>
  [f.passkeys > 0 ? `passkey×${f.passkeys}` : '', f.totp ? 'app' : '', f.recoveryCodes > 0 ? `${f.recoveryCodes} codes` : '']
    .filter((part) => part !== '')
    .join(', ') || '-'

async function listUsers(context: CommandContext): Promise<CommandResult> {
  const users = await context.withDeps(async (deps) =>
    Promise.all((await deps.repos.users.list()).map(async (user) => ({ user, factors: await factorsOf(deps, user.id) }))),
  )
  const status = (u: User) => (u.disabledAt !== null ? 'disabled' : u.emailVerified ? 'active' : 'unverified')
  return {
    json: {
      users: users.map(({ user, factors }) => ({
        ...userJson(user),
        factors: { passkeys: factors.passkeys, totp: factors.totp, recovery_codes: factors.recoveryCodes },
      })),
    },
    text:
      users.length === 0
        ? 'No users yet.'
        : table([
            ['ID', 'EMAIL', 'NAME', 'ROLES', 'STATUS', 'FACTORS'],
            ...users.map(({ user: u, factors }) => [
              u.id,
              u.email,
              u.name ?? '',
              u.roles.join(',') || '-',
              status(u),
              factorsText(factors),
            ]),
          ]),
  }
}

async function resetUserFactors(context: CommandContext, emailOrId: string): Promise<CommandResult> {
  let removed: FactorSummary | undefined
  const user = await onOneUser(context, emailOrId, async (deps, found) => {
    removed = await resetFactors(deps, found, 'operator')
  })
  const what = removed === undefined ? '-' : factorsText(removed)
  return {
    json: {
      mfa_reset: user.email,
      id: user.id,
      removed: { passkeys: removed?.passkeys ?? 0, totp: removed?.totp ?? false, recovery_codes: removed?.recoveryCodes ?? 0 },
    },
    text: `Second factors of ${user.email} removed (${what}); they were told by mail. They sign in with their password and can set up new ones.`,
  }
}

async function setRoles(context: CommandContext, emailOrId: string, roles: readonly string[]): Promise<CommandResult> {
  checkRoles(roles)
  const user = await context.withDeps(async (deps) => {
    const found = await findUser(deps, emailOrId)
    await deps.repos.users.setRoles(found.id, roles, deps.clock.now())
    await deps.audit.record('roles_changed', { userId: found.id, detail: { roles } }, 'roles changed')
    return (await deps.repos.users.findById(found.id))!
  })
  return {
    json: { email: user.email, id: user.id, roles: user.roles },
    text: `Roles of ${user.email}: ${user.roles.join(', ') || '(none)'}. Tokens issued from now on carry them.`,
  }
}

async function verifyUser(context: CommandContext, emailOrId: string): Promise<CommandResult> {
  const user = await onOneUser(context, emailOrId, (deps, found) => deps.repos.users.markEmailVerified(found.id, deps.clock.now()))
  return { json: { verified: user.email, id: user.id }, text: `Email address ${user.email} marked as verified.` }
}

async function resetLink(context: CommandContext, emailOrId: string): Promise<CommandResult> {
  let link = ''
  const user = await onOneUser(context, emailOrId, async (deps, found) => {
    if (found.disabledAt !== null) throw new CliError(`user ${found.email} is disabled; enable it first`)
    link = await passwordResetLink(deps, found)
    const event = { userId: found.id, detail: { by: 'operator' } }
    await deps.audit.record('password_reset_requested', event, 'password reset link created by an operator')
  })
  const ttl = context.config.passwordResetTtl
  return {
    json: { email: user.email, id: user.id, reset_link: link, expires_in: ttl },
    text: `${link}\nValid once, for ${Math.round(ttl / 60)} minutes. Older reset links of ${user.email} no longer work.`,
  }
}

async function disableUser(context: CommandContext, emailOrId: string): Promise<CommandResult> {
  const user = await onOneUser(context, emailOrId, async (deps, found) => {
    await deps.repos.users.disable(found.id, deps.clock.now())
    // A disabled account keeps nothing alive: sessions end, grants and their tokens die.
    await endUserAccess(deps, found.id)
    await deps.audit.record('account_disabled', { userId: found.id }, 'account disabled')
  })
  return { json: { disabled: user.email, id: user.id }, text: `User ${user.email} disabled; sessions ended and tokens revoked.` }
}

async function enableUser(context: CommandContext, emailOrId: string): Promise<CommandResult> {
  const user = await onOneUser(context, emailOrId, async (deps, found) => {
    await deps.repos.users.enable(found.id, deps.clock.now())
    await deps.audit.record('account_enabled', { userId: found.id }, 'account enabled')
  })
  return { json: { enabled: user.email, id: user.id }, text: `User ${user.email} enabled; they can sign in again.` }
}

async function listCollisions(context: CommandContext): Promise<CommandResult> {
  const groups = emailCollisions(await context.withDeps((deps) => deps.repos.users.list()))
  const json = groups.map((group) => ({
    canonical_email: group.canonical,
    users: group.users.map((u) => ({ ...userJson(u), answers_sign_in: u.email === group.canonical })),
  }))
  const signsIn = (u: User, canonical: string) => (u.email === canonical ? 'signs in with this address' : 'cannot sign in until resolved')
  const text =
    groups.length === 0
      ? 'No accounts collide: every stored email is in its canonical form or unique.'
      : [
          ...groups.flatMap((group) => [
            `${group.canonical}:`,
            ...group.users.map((u) => `  ${u.id}  ${JSON.stringify(u.email)}  ${signsIn(u, group.canonical)}`),
          ]),
          'Nothing was merged. Resolve each group: give an extra account another address (idp users set-email ID EMAIL) ' +
            'or disable it (idp users disable ID).',
        ].join('\n')
  return { json: { collisions: json }, text }
}

async function setEmail(context: CommandContext, emailOrId: string, newEmail: string): Promise<CommandResult> {
  const problem = emailAddressProblem(newEmail)
  if (problem !== null) throw new CliError(`${newEmail}: ${problem}`)
  const email = normaliseEmail(newEmail)
  const user = await context.withDeps(async (deps) => {
    const found = await findUser(deps, emailOrId)
    const holder = await deps.repos.users.findByEmail(email)
    if (holder && holder.id !== found.id) throw new CliError(`${email} already belongs to user ${holder.id}`)
    await deps.repos.users.setEmail(found.id, email, deps.clock.now())
    await deps.audit.record('email_changed', { userId: found.id, detail: { by: 'operator' } }, 'email address changed by an operator')
    return found
  })
  return { json: { id: user.id, email, email_verified: false }, text: `User ${user.id} now signs in as ${email} (not verified yet).` }
}

const USER_ARGUMENT = "the user's email address (any spelling of it), or the id idp users list and collisions show"

/** `idp users add|list|set-roles|verify|reset-link|disable|enable|mfa-reset|collisions|set-email`. */
export function registerUsersCommands(program: Command, run: RunCommand): void {
  const users = program
    .command('users')
    .description('user accounts: add, list, roles, verification, reset links, disabling, second factors, email changes')

  /** A command on one user, named by email or id (taken as is: ids may begin with "-"). */
  const onOne = (name: string, description: string, action: (context: CommandContext, emailOrId: string) => Promise<CommandResult>) =>
    users
      .command(name)
      .description(description)
      .argument('<email>', USER_ARGUMENT, nonEmpty)
      .allowUnknownOption()
      .addHelpText('after', examples(`idp users ${name} ada@example.com`))
      .action((emailOrId: string) => run((context) => action(context, emailOrId)))

  users
    .command('add')
    .description('create a user (argon2id; the email address counts as verified); the password policy applies')
    .option('--email <email>', 'the sign-in address (required)')
    .option('--name <name>', 'display name')
    .option('--password-stdin', 'read the password from stdin; exactly one trailing line break is removed')
    .option('--password <password>', 'the password on the command line (visible in shell history: prefer --password-stdin)')
    .option('--role <role>', "a role for the user's tokens (letters, digits, _ . : -; at most 64 characters); repeatable", repeatable)
    .addHelpText(
      'after',
      examples(
        'printf %s "$PASSWORD" | idp users add --email ada@example.com --name "Ada" --password-stdin',
        'idp users add --email ops@example.com --password-stdin --role admin --role ops --json < password.txt',
      ),
    )
    .action((options: AddOptions) => run((context) => addUser(context, options)))

  users
    .command('list')
    .description('users with roles, status (active, unverified, disabled) and second factors')
    .action(() => run(listUsers))

  users
    .command('set-roles')
    .description("replace the user's roles (none clears them); tokens issued from then on carry them")
    .argument('<email>', USER_ARGUMENT, nonEmpty)
    .argument('[roles...]', 'the new roles (letters, digits, _ . : -; at most 64 characters)')
    .allowUnknownOption()
    .addHelpText('after', examples('idp users set-roles ada@example.com admin ops', 'idp users set-roles ada@example.com'))
    .action((emailOrId: string, roles: string[]) => run((context) => setRoles(context, emailOrId, roles)))

  onOne('verify', "mark the user's email address verified", verifyUser)
  onOne('reset-link', 'print a single-use password-reset link for support (older links of the user stop working)', resetLink)
  onOne('disable', 'disable the user: ends their sessions, revokes their refresh and access tokens', disableUser)
  onOne('enable', 'let a disabled user sign in again', enableUser)
  onOne(
    'mfa-reset',
    'remove every passkey, the authenticator app and the recovery codes of a user who lost them (audited, mailed to the user)',
    resetUserFactors,
  )

  users
    .command('collisions')
    .description('accounts whose stored addresses are one address in canonical form, and which of them signs in')
    .action(() => run(listCollisions))

  users
    .command('set-email')
    .description("change a user's sign-in address (marked unverified); resolves collisions")
    .argument('<email-or-id>', 'the user: email address, or the id idp users collisions shows', nonEmpty)
    .argument('<new-email>', 'the new address', nonEmpty)
    .allowUnknownOption()
    .addHelpText(
      'after',
      examples(
        'idp users set-email ada@example.com ada.lovelace@example.com',
        'idp users set-email 4fTq0cWnX2ZbYk8sJr1uVg ada.old@example.com',
      ),
    )
    .action((emailOrId: string, newEmail: string) => run((context) => setEmail(context, emailOrId, newEmail)))
}
