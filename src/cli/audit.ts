import { parseArgs } from 'node:util'
import { parseDuration } from '../config/fields.js'
import { CliError, type CommandContext } from './context.js'
import { table, type CommandResult } from './output.js'

/** `idp audit [--user EMAIL] [--since 1h] [--type TYPE] [--limit N]`: security events, newest first. */
export async function auditCommand(context: CommandContext, args: string[]): Promise<CommandResult> {
  const { values } = parseArgs({ args, options: { user: { type: 'string' }, since: { type: 'string' }, type: { type: 'string' }, limit: { type: 'string' } } })
  let sinceSeconds: number | undefined
  if (values.since !== undefined) {
    try {
      sinceSeconds = parseDuration(values.since)
    } catch {
      throw new CliError('--since takes a duration such as 90s, 15m, 1h or 7d')
    }
  }
  const limit = values.limit === undefined ? 100 : Number(values.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw new CliError('--limit must be a whole number from 1 to 10000')
  const events = await context.withDeps(async (deps) => {
    let userId: string | undefined
    if (values.user !== undefined) {
      const user = await deps.repos.users.findByEmail(values.user)
      if (!user) throw new CliError(`no user with email ${values.user}`)
      userId = user.id
    }
    const since = sinceSeconds === undefined ? undefined : deps.clock.now() - sinceSeconds
    return deps.repos.auditEvents.list({ since, userId, type: values.type, limit })
  })
  const json = events.map((e) => ({ at: new Date(e.at * 1000).toISOString(), type: e.type, user_id: e.userId, client_id: e.clientId, ip: e.ip, detail: e.detail }))
  return {
    json: { events: json },
    text:
      events.length === 0
        ? 'No security events match.'
        : table([['AT', 'TYPE', 'USER', 'CLIENT', 'IP', 'DETAIL'], ...json.map((e) => [e.at, e.type, e.user_id ?? '', e.client_id ?? '', e.ip ?? '', JSON.stringify(e.detail)])]),
  }
}
