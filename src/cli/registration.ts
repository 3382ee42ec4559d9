import type { Command } from 'commander'
import { createInitialAccessToken } from '../clients/dynamic-registration.js'
import { parseDuration } from '../config/fields.js'
import { nonEmpty } from './arguments.js'
import { CliError, type CommandContext, type RunCommand } from './context.js'
import { table, type CommandResult } from './output.js'

interface CreateOptions {
  readonly expires?: string
  readonly maxUses?: string
}

const isoTime = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString())

async function createToken(context: CommandContext, options: CreateOptions): Promise<CommandResult> {
  let ttl: number | null = null
  if (options.expires !== undefined) {
    try {
      ttl = parseDuration(options.expires)
    } catch {
      throw new CliError('--expires takes a duration such as 1h, 1d or 30d')
    }
    if (ttl <= 0) throw new CliError('--expires must be longer than 0')
  }
  let maxUses: number | null = null
  if (options.maxUses !== undefined) {
    if (!/^[1-9]\d{0,8}$/.test(options.maxUses)) throw new CliError('--max-uses takes a whole number of at least 1')
    maxUses = Number(options.maxUses)
  }
  const registration = await context.withDeps(async (deps) => ({
    created: await createInitialAccessToken(deps, { ttl, maxUses }),
    mode: deps.config.registration,
  }))
  const { token, id, expiresAt } = registration.created
  const warning =
    registration.mode === 'token'
      ? ''
      : `\nNote: REGISTRATION is ${registration.mode}; the token is only asked for when REGISTRATION=token.`
  return {
    json: { token, id, expires_at: expiresAt, max_uses: maxUses, registration: registration.mode },
    text: `Initial access token (shown once; send it as "Authorization: Bearer …" to /register):\n${token}\nid ${id}, ${expiresAt === null ? 'no expiry' : `expires ${isoTime(expiresAt)}`}, ${maxUses === null ? 'unlimited uses' : `${maxUses} use(s)`}.${warning}`,
  }
}

async function listTokens(context: CommandContext): Promise<CommandResult> {
  const tokens = await context.withDeps((deps) => deps.repos.registrationTokens.list())
  const rows = [
    ['ID', 'CREATED', 'EXPIRES', 'USES'],
    ...tokens.map((t) => [t.id, isoTime(t.createdAt)!, isoTime(t.expiresAt) ?? 'never', `${t.uses}/${t.maxUses ?? '∞'}`]),
  ]
  return {
    json: {
      tokens: tokens.map((t) => ({ id: t.id, created_at: t.createdAt, expires_at: t.expiresAt, max_uses: t.maxUses, uses: t.uses })),
    },
    text: tokens.length === 0 ? 'No initial access tokens.' : table(rows),
  }
}

async function revokeToken(context: CommandContext, id: string): Promise<CommandResult> {
  const removed = await context.withDeps((deps) => deps.repos.registrationTokens.revoke(id))
  if (removed === 0) throw new CliError(`no initial access token with id ${id} (see idp registration token list)`)
  return { json: { revoked: id, count: removed }, text: `Initial access token ${id} revoked.` }
}

/** `idp registration token create|list|revoke`: initial access tokens for REGISTRATION=token (RFC 7591 §3). */
export function registerRegistrationCommands(program: Command, run: RunCommand): void {
  const registration = program.command('registration').description('dynamic client registration at /register (RFC 7591; see REGISTRATION)')
  const token = registration.command('token').description('initial access tokens that allow registering when REGISTRATION=token')
  token
    .command('create')
    .description('create an initial access token (shown once)')
    .option('--expires <duration>', 'lifetime, e.g. 1d (default: no expiry)')
    .option('--max-uses <n>', 'how many registrations it allows (default: unlimited)')
    .action((options: CreateOptions) => run((context) => createToken(context, options)))
  token
    .command('list')
    .description('list initial access tokens (the tokens themselves are never shown again)')
    .action(() => run(listTokens))
  token
    .command('revoke')
    .description('revoke an initial access token')
    .argument('<id>', 'the id shown by create and list', nonEmpty)
    .action((id: string) => run((context) => revokeToken(context, id)))
}
