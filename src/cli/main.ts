/**
 * The `idp` operator CLI. Same environment as the server. Every command accepts --json and then
 * prints exactly one JSON object as the last line of stdout; errors are one line on stderr and
 * exit 1. Arguments are parsed by commander; each command group registers itself from its file.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError } from 'commander'
import { ConfigError } from '../config/config.js'
import { registerAuditCommand } from './audit.js'
import { registerApisCommands } from './apis.js'
import { registerConnectionsCommands } from './connections.js'
import { registerRegistrationCommands } from './registration.js'
import { registerClientsCommands } from './clients.js'
import { CliError, commandContext, type CliIo, type RunCommand } from './context.js'
import { registerKeysCommands } from './keys.js'
import { registerMigrateCommand } from './migrate.js'
import { printResult, type CommandResult } from './output.js'
import { registerPruneCommand } from './prune.js'
import { registerUsersCommands } from './users.js'
import { registerInstallationCommands } from './installation.js'
import { registerWebhooksCommands } from './webhooks.js'
import { examples } from './arguments.js'

/** Each command group registers its commands (in this order in the help). */
const GROUPS: readonly ((program: Command, run: RunCommand) => void)[] = [
  registerClientsCommands,
  registerUsersCommands,
  registerApisCommands,
  registerConnectionsCommands,
  registerWebhooksCommands,
  registerRegistrationCommands,
  registerKeysCommands,
  registerAuditCommand,
  registerPruneCommand,
  registerMigrateCommand,
  registerInstallationCommands,
]

const JSON_FLAG = '--json'

/**
 * The version in Tessera's package.json: the nearest one above this module that has a version
 * (src/cli/ under tests, dist/src/cli/ when built; the container image copies package.json too).
 */
function packageVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const { version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown }
      if (typeof version === 'string') return version
    } catch {
      // no (readable) package.json here: look further up
    }
    if (path.dirname(dir) === dir) return 'unknown'
  }
}

/** What commander said while parsing, kept for runCli to print its own way. */
interface Said {
  /** Help or version text (commander's stdout). */
  out: string
  /** Set when help was shown because a command expects a subcommand and got none. */
  usageOf: Command | null
  /** A usage error (unknown command or option, missing or excess argument) and the command it is about. */
  error: { readonly command: Command; readonly text: string } | null
}

const commandPath = (command: Command): string => (command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name())
const everyCommand = (command: Command): Command[] => [command, ...command.commands.flatMap(everyCommand)]

/** One line: how the command is used (the old hand-written usage, from the definitions). */
function usageLine(command: Command): string {
  const sub = command.commands.map((c) => c.name())
  return sub.length > 0 ? `usage: ${commandPath(command)} ${sub.join('|')} …` : `usage: ${commandPath(command)} ${command.usage()}`
}

function buildProgram(run: RunCommand, said: Said, width: number): Command {
  const program = new Command('idp')
    .description(
      'Tessera operator CLI: clients, users, signing keys, the audit log, the database and its backups.\n' +
        'Run it with the environment of the server.',
    )
    .usage('<command> [options] [--json]')
    .version(packageVersion(), '-V, --version', 'print the version of Tessera')
    .helpOption('-h, --help', 'show help for the command')
    .helpCommand('help [command]', 'show help for a command')
    // Program options only before the command: a value like `--password -V…` is never taken for one.
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
  program.addHelpText(
    'after',
    examples(
      'idp clients add --name "Example app" --redirect-uri https://app.example/callback',
      'idp users add --email ada@example.com --password-stdin --role admin < password.txt',
      'idp keys rotate --json',
      'idp clients add --help',
    ),
  )
  for (const register of GROUPS) register(program, run)
  for (const command of everyCommand(program)) {
    // --json is taken out of the arguments before parsing (it is accepted anywhere, even after
    // `--`); declared on the program and every command that runs, for help and "did you mean".
    const group = command.parent !== null && command.commands.length > 0
    if (!group) command.option(JSON_FLAG, 'print the result as one JSON object, the last line of stdout (errors as {"error": …})')
    command.configureOutput({
      writeOut: (text) => {
        said.out += text
      },
      writeErr: (text) => {
        said.out += text
        said.usageOf = command
      },
      outputError: (text) => {
        said.error = { command, text }
      },
      getOutHelpWidth: () => width,
      getErrHelpWidth: () => width,
    })
  }
  return program
}

function fail(io: CliIo, json: boolean, message: string): 1 {
  io.stderr(`idp: ${message}`)
  if (json) io.stdout(JSON.stringify({ error: message }))
  return 1
}

/** Help, version and usage errors, as commander reported them. */
function commanderOutcome(error: CommanderError, said: Said, io: CliIo, json: boolean): number {
  const text = said.out.replace(/\n+$/, '')
  if (said.usageOf !== null) {
    // A command group (or the program) without its command: the usage, and exit 1.
    if (!json) io.stdout(text)
    return fail(io, json, usageLine(said.usageOf))
  }
  if (error.code === 'commander.version') {
    io.stdout(json ? JSON.stringify({ version: text }) : text)
    return 0
  }
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help') {
    io.stdout(json ? JSON.stringify({ help: text }) : text)
    return 0
  }
  // "error: unknown command 'x'\n(Did you mean y?)" and the like: one line, with the usage.
  const message = (said.error?.text ?? error.message)
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\.$/, '')
  return fail(io, json, said.error ? `${message}; ${usageLine(said.error.command)}` : message)
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes(JSON_FLAG)
  const args = argv.filter((arg) => arg !== JSON_FLAG)
  let result: CommandResult | undefined
  const run: RunCommand = async (work) => {
    result = await work(commandContext(io))
  }
  const said: Said = { out: '', usageOf: null, error: null }
  try {
    await buildProgram(run, said, io.columns ?? 80).parseAsync(args, { from: 'user' })
    // Every command that parses without an error has an action, and every action sets a result.
    if (result === undefined) throw new Error('no command ran')
    printResult(io, result, json)
    return 0
  } catch (error) {
    if (error instanceof CommanderError) return commanderOutcome(error, said, io, json)
    const message =
      error instanceof CliError
        ? error.message
        : error instanceof ConfigError
          ? `invalid configuration: ${error.problems.join('; ')}`
          : `failed: ${(error as Error).message}`
    return fail(io, json, message)
  }
}
