import type { Command } from 'commander'
import { normaliseEmail } from '../accounts/email-address.js'
import { parseDuration } from '../config/fields.js'
import { examples } from './arguments.js'
import { CliError, type CommandContext, type RunCommand } from './context.js'
import { table, type CommandResult } from './output.js'

/** `audit` options as commander hands them over; validated here, not by the parser. */
interface AuditOptions {
  readonly user?: string
  readonly since?: string
  readonly type?: string
  readonly limit?: string
}

async function auditEvents(context: CommandContext, options: AuditOptions): Promise<CommandResult> {
  let sinceSeconds: number | undefined
  if (options.since !== undefined) {
    try {
      sinceSeconds = parseDuration(options.since)
    } catch {
      throw new CliError('--since takes a duration such as 90s, 15m, 1h or 7d')
    }
  }
  const limit = options.limit === undefined ? 100 : Number(options.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw new CliError('--limit must be a whole number from 1 to 10000')
  const events = await context.withDeps(async (deps) => {
    let userId: string | undefined
    if (options.user !== undefined && !options.user.includes('@')) {
      // An id: also the way to the events of a deleted account (they keep its id, not its address).
      userId = options.user
    } else if (options.user !== undefined) {
      const user = await deps.repos.users.findByEmail(normaliseEmail(options.user))
      if (!user) throw new CliError(`no user with email ${options.user}`)
      userId = user.id
    }
    const since = sinceSeconds === undefined ? undefined : deps.clock.now() - sinceSeconds
    return deps.repos.auditEvents.list({ since, userId, type: options.type, limit })
  })
  const json = events.map((e) => ({
    at: new Date(e.at * 1000).toISOString(),
    type: e.type,
    user_id: e.userId,
    client_id: e.clientId,
    ip: e.ip,
    detail: e.detail,
  }))
  const rows = json.map((e) => [e.at, e.type, e.user_id ?? '', e.client_id ?? '', e.ip ?? '', JSON.stringify(e.detail)])
  return {
    json: { events: json },
    text: events.length === 0 ? 'No security events match.' : table([['AT', 'TYPE', 'USER', 'CLIENT', 'IP', 'DETAIL'], ...rows]),
  }
}

/** `idp audit [--user EMAIL] [--since 1h] [--type TYPE] [--limit N]`: security events, newest first. */
export function registerAuditCommand(program: Command, run: RunCommand): void {
  program
    .command('audit')
    .description('security events, newest first: sign-ins and failures, throttling, replays, revocations, key rotations, account changes')
    .option('--user <email>', "only events of this user: the email address, or the id (a deleted user's events keep the id)")
    .option('--since <duration>', 'only events this recent: 90s, 15m, 1h, 7d…')
    .option('--type <type>', 'only events of this type, e.g. login_failure, refresh_reuse, key_rotation, account_disabled')
    .option('--limit <n>', 'at most this many events, 1 to 10000 (default: 100)')
    .addHelpText('after', examples('idp audit --since 1h', 'idp audit --user ada@example.com --type login_failure --limit 20 --json'))
    .action((options: AuditOptions) => run((context) => auditEvents(context, options)))
}
