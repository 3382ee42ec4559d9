import type { Command } from 'commander'
import { exportUserData } from '../accounts/data-export.js'
import { emailCollisions } from '../accounts/email-collisions.js'
import {
  AccountChangeRefused,
  checkRoles,
  createPasswordResetLink,
  createUser,
  deleteUser,
  disableUser,
  EmailTaken,
  enableUser,
  findUser,
  getUser,
  InvalidAccountInput,
  listUsers as listAllUsers,
  resetUserFactors as resetFactorsOf,
  setUserRoles,
  UnknownUser,
  updateUser,
  verifyUserEmail,
  type AccountChanges,
} from '../accounts/lifecycle.js'
import type { Deps } from '../deps.js'
import type { FactorSummary } from '../factors/summary.js'
import { CLI_ACTOR } from '../model/actor.js'
import type { User } from '../model/user.js'
import { examples, nonEmpty, repeatable } from './arguments.js'
import { CliError, type CommandContext, type RunCommand } from './context.js'
import { writeNewFile } from './files.js'
import { table, type CommandResult } from './output.js'

/** stdin loses exactly one trailing line break (what `echo` adds); nothing else is trimmed. */
export function passwordFromStdin(raw: string): string {
  return raw.replace(/\r?\n$/, '')
}

/** How an email problem is introduced: `--email X` for add and update, the bare address for set-email. */
type EmailLabel = (value: string) => string

/** The service's problem as one CLI line. */
function asCliError(error: unknown, email: EmailLabel = (value) => `--email ${value}`, adding = false): unknown {
  if (error instanceof EmailTaken)
    return new CliError(
      adding ? `a user with email ${error.value ?? ''} already exists` : `${error.value ?? ''} already belongs to user ${error.holderId}`,
    )
  if (error instanceof InvalidAccountInput) {
    switch (error.field) {
      case 'email':
        return new CliError(`${email(error.value ?? '')}: ${error.problem}`)
      case 'password':
        return new CliError(`password refused: ${error.problem}`)
      case 'name':
        return new CliError(`--name: ${error.problem}`)
      case 'roles':
        return new CliError(error.problem)
    }
  }
  if (error instanceof UnknownUser || error instanceof AccountChangeRefused) return new CliError(error.message)
  return error
}

/**
 * `idp users <action> EMAIL`: the user named by email (any spelling of it) or, for accounts
 * `collisions` lists, by id; one service call; its errors said as one CLI line.
 */
function onUser<T>(context: CommandContext, emailOrId: string, use: (deps: Deps, user: User) => Promise<T>): Promise<T> {
  return context
    .withDeps(async (deps) => use(deps, await findUser(deps, emailOrId)))
    .catch((error: unknown) => {
      throw asCliError(error)
    })
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

const factorsJson = (f: FactorSummary) => ({ passkeys: f.passkeys, totp: f.totp, recovery_codes: f.recoveryCodes })

/** `users add` options as commander hands them over. */
interface AddOptions {
  readonly email?: string
  readonly name?: string
  readonly password?: string
  readonly passwordStdin?: boolean
  readonly role?: string[]
}

async function addUser(context: CommandContext, options: AddOptions): Promise<CommandResult> {
  const sources = (options.password === undefined ? 0 : 1) + (options.passwordStdin === true ? 1 : 0)
  if (sources !== 1) throw new CliError('give exactly one of --password-stdin or --password')
  const password = options.password ?? passwordFromStdin(await context.io.readStdin())
  const input = { email: options.email ?? '', name: options.name ?? null, password, roles: options.role ?? [] }
  const user = await context
    .withDeps((deps) => createUser(deps, input, CLI_ACTOR))
    .catch((error: unknown) => {
      throw asCliError(error, undefined, true)
    })
  return { json: { id: user.id, email: user.email, roles: user.roles }, text: `User ${user.email} added (sub ${user.id}).` }
}

/** The second factors of a user, in words: "passkey×2, app, 8 codes" or "-". */
const factorsText = (f: FactorSummary) =>
  [f.passkeys > 0 ? `passkey×${f.passkeys}` : '', f.totp ? 'app' : '', f.recoveryCodes > 0 ? `${f.recoveryCodes} codes` : '']
    .filter((part) => part !== '')
    .join(', ') || '-'

const status = (u: User) => (u.disabledAt !== null ? 'disabled' : u.emailVerified ? 'active' : 'unverified')

async function listUsers(context: CommandContext): Promise<CommandResult> {
  const users = await context.withDeps((deps) => listAllUsers(deps))
  return {
    json: { users: users.map(({ user, factors }) => ({ ...userJson(user), factors: factorsJson(factors) })) },
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

const iso = (seconds: number | null) => (seconds === null ? '-' : new Date(seconds * 1000).toISOString())

async function showUser(context: CommandContext, emailOrId: string): Promise<CommandResult> {
  const { user, factors, identities, liveSessions } = await onUser(context, emailOrId, (deps, found) => getUser(deps, found.id))
  const linked = identities.map((identity) => ({
    connection_id: identity.connectionId,
    subject: identity.subject,
    email: identity.email,
    created_at: identity.createdAt,
    last_used_at: identity.lastUsedAt,
  }))
  return {
    json: { ...userJson(user), factors: factorsJson(factors), linked_identities: linked, live_sessions: liveSessions },
    text: [
      `id:                ${user.id}`,
      `email:             ${user.email}${user.emailVerified ? '' : ' (not verified)'}`,
      `name:              ${user.name ?? '-'}`,
      `status:            ${status(user)}`,
      `roles:             ${user.roles.join(', ') || '-'}`,
      `created:           ${iso(user.createdAt)}`,
      `second factors:    ${factorsText(factors)}`,
      `live sessions:     ${liveSessions}`,
      `linked identities: ${identities.map((identity) => `${identity.connectionId} (${identity.email ?? identity.subject})`).join(', ') || '-'}`,
    ].join('\n'),
  }
}

async function changeUser(
  context: CommandContext,
  emailOrId: string,
  options: { name?: string | false; email?: string },
): Promise<CommandResult> {
  const changes: AccountChanges = {
    ...(options.name !== undefined ? { name: options.name === false ? null : options.name } : {}),
    ...(options.email !== undefined ? { email: options.email } : {}),
  }
  if (Object.keys(changes).length === 0) throw new CliError('nothing to change: give --name, --no-name or --email')
  const user = await onUser(context, emailOrId, (deps, found) => updateUser(deps, found.id, changes, CLI_ACTOR))
  return {
    json: userJson(user),
    text: `User ${user.id}: ${user.email}${user.emailVerified ? '' : ' (not verified yet)'}, name ${user.name === null ? '(none)' : JSON.stringify(user.name)}.`,
  }
}

async function resetUserFactors(context: CommandContext, emailOrId: string): Promise<CommandResult> {
  const { user, removed } = await onUser(context, emailOrId, (deps, found) => resetFactorsOf(deps, found.id, CLI_ACTOR))
  return {
    json: { mfa_reset: user.email, id: user.id, removed: factorsJson(removed) },
    text: `Second factors of ${user.email} removed (${factorsText(removed)}); they were told by mail. They sign in with their password and can set up new ones.`,
  }
}

async function setRoles(context: CommandContext, emailOrId: string, roles: readonly string[]): Promise<CommandResult> {
  try {
    // Judged before the user is looked up: a bad role is the first thing said.
    checkRoles(roles)
  } catch (error) {
    throw asCliError(error)
  }
  const user = await onUser(context, emailOrId, (deps, found) => setUserRoles(deps, found.id, roles, CLI_ACTOR))
  return {
    json: { email: user.email, id: user.id, roles: user.roles },
    text: `Roles of ${user.email}: ${user.roles.join(', ') || '(none)'}. Tokens issued from now on carry them.`,
  }
}

async function verifyUser(context: CommandContext, emailOrId: string): Promise<CommandResult> {
  const user = await onUser(context, emailOrId, (deps, found) => verifyUserEmail(deps, found.id, CLI_ACTOR))
  return { json: { verified: user.email, id: user.id }, text: `Email address ${user.email} marked as verified.` }
}

async function resetLink(context: CommandContext, emailOrId: string): Promise<CommandResult> {
  const { user, link, expiresIn } = await onUser(context, emailOrId, (deps, found) => createPasswordResetLink(deps, found.id, CLI_ACTOR))
  return {
    json: { email: user.email, id: user.id, reset_link: link, expires_in: expiresIn },
    text: `${link}\nValid once, for ${Math.round(expiresIn / 60)} minutes. Older reset links of ${user.email} no longer work.`,
  }
}

async function disable(context: CommandContext, emailOrId: string): Promise<CommandResult> {
  const user = await onUser(context, emailOrId, (deps, found) => disableUser(deps, found.id, CLI_ACTOR))
  return { json: { disabled: user.email, id: user.id }, text: `User ${user.email} disabled; sessions ended and tokens revoked.` }
}

async function enable(context: CommandContext, emailOrId: string): Promise<CommandResult> {
  const user = await onUser(context, emailOrId, (deps, found) => enableUser(deps, found.id, CLI_ACTOR))
  return { json: { enabled: user.email, id: user.id }, text: `User ${user.email} enabled; they can sign in again.` }
}

async function remove(context: CommandContext, emailOrId: string, options: { yes?: boolean }): Promise<CommandResult> {
  if (options.yes !== true)
    throw new CliError(
      `deleting ${emailOrId} removes the account and all its data for good; add --yes to do it (idp users export first to keep a copy)`,
    )
  const { user, removed } = await onUser(context, emailOrId, (deps, found) => deleteUser(deps, found.id, CLI_ACTOR))
  return {
    json: {
      deleted: user.email,
      id: user.id,
      removed: {
        sessions: removed.sessions,
        grants: removed.grants,
        access_tokens: removed.accessTokens,
        consents: removed.consents,
        passkeys: removed.passkeys,
        linked_identities: removed.federatedIdentities,
      },
    },
    text:
      `User ${user.email} (${user.id}) deleted with all their data: ${removed.sessions} sessions (ended first: their apps are told), ` +
      `${removed.grants} grants with their tokens, ${removed.consents} consents, ${removed.passkeys} passkeys, ${removed.federatedIdentities} linked identities. ` +
      'Audit events keep the id (not the address) until AUDIT_RETENTION.',
  }
}

async function exportUser(context: CommandContext, emailOrId: string, options: { to?: string }): Promise<CommandResult> {
  const { user, document } = await onUser(context, emailOrId, async (deps, found) => ({
    user: found,
    document: await exportUserData(deps, found.id, CLI_ACTOR),
  }))
  if (options.to === undefined) return { json: { ...document }, text: JSON.stringify(document, null, 2) }
  writeNewFile(options.to, `${JSON.stringify(document, null, 2)}\n`)
  return { json: { exported: user.email, id: user.id, file: options.to }, text: `Data of ${user.email} written to ${options.to}.` }
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
  const user = await context
    .withDeps(async (deps) => updateUser(deps, (await findUser(deps, emailOrId)).id, { email: newEmail }, CLI_ACTOR))
    .catch((error: unknown) => {
      throw asCliError(error, (value) => value)
    })
  return {
    json: { id: user.id, email: user.email, email_verified: false },
    text: `User ${user.id} now signs in as ${user.email} (not verified yet).`,
  }
}

const USER_ARGUMENT = "the user's email address (any spelling of it), or the id idp users list and collisions show"

/** `idp users add|list|show|update|set-roles|verify|reset-link|disable|enable|mfa-reset|delete|export|collisions|set-email`. */
export function registerUsersCommands(program: Command, run: RunCommand): void {
  const users = program
    .command('users')
    .description(
      'user accounts: add, list, show, change, roles, verification, reset links, disabling, second factors, deletion, data export',
    )

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
  onOne('disable', 'disable the user: ends their sessions, revokes their refresh and access tokens', disable)
  onOne('enable', 'let a disabled user sign in again', enable)
  onOne(
    'mfa-reset',
    'remove every passkey, the authenticator app and the recovery codes of a user who lost them (audited, mailed to the user)',
    resetUserFactors,
  )

  onOne('show', 'one user: profile, roles, status, second factors, live sessions and linked identities (never a hash or secret)', showUser)

  users
    .command('update')
    .description("change a user's display name or sign-in address (a new address is unverified until proven)")
    .argument('<email>', USER_ARGUMENT, nonEmpty)
    .option('--name <name>', 'the display name (at most 200 characters)')
    .option('--no-name', 'remove the display name')
    .option('--email <new-email>', 'the new sign-in address; it must not belong to another user')
    .addHelpText(
      'after',
      examples(
        'idp users update ada@example.com --name "Ada Lovelace"',
        'idp users update ada@example.com --email ada.lovelace@example.com',
      ),
    )
    .action((emailOrId: string, options: { name?: string | false; email?: string }) =>
      run((context) => changeUser(context, emailOrId, options)),
    )

  users
    .command('delete')
    .description(
      'delete the user and all their data: sessions end first (their apps get back-channel logout tokens), then grants and tokens, consents, passkeys, authenticator app, recovery codes, linked identities go; audit events keep the id',
    )
    .argument('<email>', USER_ARGUMENT, nonEmpty)
    .option('--yes', 'really delete (required: there is no undo)')
    .addHelpText('after', examples('idp users export ada@example.com --to ada.json && idp users delete ada@example.com --yes'))
    .action((emailOrId: string, options: { yes?: boolean }) => run((context) => remove(context, emailOrId, options)))

  users
    .command('export')
    .description(
      "the user's data as one JSON document: profile, roles, second factors (no secrets), sessions, consents and grants, linked identities, recent security events",
    )
    .argument('<email>', USER_ARGUMENT, nonEmpty)
    .option('--to <file>', 'write it to this new file (mode 0600; an existing file is never overwritten) instead of stdout')
    .addHelpText(
      'after',
      examples('idp users export ada@example.com --to ada.json', 'idp users export ada@example.com --json | jq .profile'),
    )
    .action((emailOrId: string, options: { to?: string }) => run((context) => exportUser(context, emailOrId, options)))

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
