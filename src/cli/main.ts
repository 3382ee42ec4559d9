/**
 * The `idp` operator CLI. Same environment as the server. Every command accepts --json and then
 * prints exactly one JSON object as the last line of stdout; errors exit non-zero.
 */
import { ConfigError } from '../config/config.js'
import { clientsCommand } from './clients.js'
import { CliError, commandContext, type CliIo } from './context.js'
import { keysCommand } from './keys.js'
import { migrateCommand } from './migrate.js'
import { printResult, type CommandResult } from './output.js'
import { pruneCommand } from './prune.js'
import { usersCommand } from './users.js'
import { auditCommand } from './audit.js'

const USAGE = `usage: idp <command> [options] [--json]

  clients add --name NAME [--redirect-uri URI]… [--post-logout-redirect-uri URI]… [--public]
              [--grant-type authorization_code|refresh_token|client_credentials]… [--pkce required|optional] [--scope SCOPE]… [--third-party]
  clients list
  clients remove CLIENT_ID
  users add --email EMAIL [--name NAME] (--password-stdin | --password P) [--role ROLE]…
  users list
  users set-roles EMAIL [ROLE]…
  users verify EMAIL
  users reset-link EMAIL
  users disable EMAIL
  users enable EMAIL
  audit [--user EMAIL] [--since 1h] [--type TYPE] [--limit N]
  prune
  keys list
  keys rotate
  keys revoke KID
  migrate`

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json')
  const args = argv.filter((arg) => arg !== '--json')
  const [group, action, ...rest] = args
  try {
    if (group === undefined || group === 'help' || group === '--help' || group === '-h') {
      io.stdout(USAGE)
      return group === undefined ? 1 : 0
    }
    const context = commandContext(io)
    let result: CommandResult
    switch (group) {
      case 'clients':
        result = await clientsCommand(context, action, rest)
        break
      case 'users':
        result = await usersCommand(context, action, rest)
        break
      case 'keys':
        result = await keysCommand(context, action, rest)
        break
      case 'audit':
        result = await auditCommand(context, action === undefined ? rest : [action, ...rest])
        break
      case 'prune':
        result = await pruneCommand(context, action === undefined ? rest : [action, ...rest])
        break
      case 'migrate':
        result = await migrateCommand(context, action === undefined ? rest : [action, ...rest])
        break
      default:
        throw new CliError(`unknown command "${group}"\n${USAGE}`)
    }
    printResult(io, result, json)
    return 0
  } catch (error) {
    const message =
      error instanceof CliError ? error.message
      : error instanceof ConfigError ? `invalid configuration: ${error.problems.join('; ')}`
      : (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? (error as Error).message
      : `failed: ${(error as Error).message}`
    io.stderr(`idp: ${message}`)
    if (json) io.stdout(JSON.stringify({ error: message }))
    return 1
  }
}
