import type { CliIo } from './context.js'

/**
 * Every command produces one result object. With --json it is printed as one JSON line (the last
 * line of stdout); otherwise as the human-readable text the command supplies.
 */
export interface CommandResult {
  readonly json: Record<string, unknown>
  readonly text: string
}

export function printResult(io: CliIo, result: CommandResult, json: boolean): void {
  if (json) io.stdout(JSON.stringify(result.json))
  else io.stdout(result.text)
}

export function table(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return ''
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)))
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')
}

/**
 * The one positional argument of commands like `keys revoke KID`. Ids are base64url and may begin
 * with "-", so the argument is taken as is rather than parsed as an option (`--` also works).
 */
export function singlePositional(args: readonly string[]): string | undefined {
  const rest = args[0] === '--' ? args.slice(1) : args
  return rest.length === 1 && rest[0] !== '' ? rest[0] : undefined
}
